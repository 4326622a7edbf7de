"""One locust scenario: GET one path as fast as the server answers (closed loop, no think time).

Driven by `benchmarks.load` through the environment: BENCH_PATH, BENCH_NAME, BENCH_HEADERS.
"""

from __future__ import annotations

import json
import os

from locust import FastHttpUser, constant, task

PATH = os.environ.get("BENCH_PATH", "/bench/ceiling")
NAME = os.environ.get("BENCH_NAME", PATH)
HEADERS = json.loads(os.environ.get("BENCH_HEADERS", "{}"))


class PageUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_page(self) -> None:
        # No redirects: a redirect to the sign-in page is a failure, not a fast 200.
        with self.client.get(
            PATH, headers=HEADERS, name=NAME, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
