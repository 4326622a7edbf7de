"""Load: gunicorn on loopback, one headless locust run per page, the ceiling view first."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from .environment import REPO
from .pages import Page, request_headers


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


class Gunicorn:
    """`config.wsgi` under gunicorn on a free loopback port, with the benchmark's settings."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "config.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers),
                "--log-level", "warning",
                "--timeout", "60",
            ],
            cwd=REPO,
            env=os.environ.copy(),
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/bench/ceiling", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_locust(host: str, page: Page, headers: dict[str, str], users: int, seconds: int) -> dict:
    """One bounded headless locust run against one path; its aggregated figures."""
    with tempfile.TemporaryDirectory(prefix="idp-bench-locust-") as tmp:
        prefix = str(Path(tmp) / "run")
        env = {
            **os.environ,
            "BENCH_PATH": page.path,
            "BENCH_NAME": page.key,
            "BENCH_HEADERS": json.dumps(headers),
        }
        subprocess.run(
            [
                sys.executable, "-m", "locust",
                "-f", str(Path(__file__).with_name("locustfile.py")),
                "--headless", "--only-summary",
                "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                "--stop-timeout", "5",
                "--host", host,
                "--csv", prefix,
                "--loglevel", "ERROR",
            ],
            cwd=REPO, env=env, check=False, timeout=seconds + 60,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        with open(prefix + "_stats.csv", newline="") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
    row = rows.get(page.key) or rows.get("Aggregated") or {}
    count = int(row.get("Request Count") or 0)
    failures = int(row.get("Failure Count") or 0)

    def number(name: str) -> float | None:
        value = row.get(name)
        return float(value) if value not in (None, "", "N/A") else None

    return {
        "requests": count,
        "failures": failures,
        "rps": round((count - failures) / seconds, 1) if count else 0.0,
        "p50_ms": number("50%"),
        "p95_ms": number("95%"),
        "p99_ms": number("99%"),
        "mean_ms": number("Average Response Time"),
    }


def run(
    measured: list[Page],
    credentials: dict[str, dict[str, str]],
    *,
    workers: int,
    users: int,
    seconds: int,
    log: Any = print,
) -> dict[str, Any]:
    """Every page through gunicorn; throughput of each as a share of the ceiling's."""
    rows: list[dict[str, Any]] = []
    with Gunicorn(workers) as server:
        for page in measured:
            headers = request_headers(page, credentials)
            probe = httpx.get(server.url + page.path, headers=headers, timeout=30)
            log(f"  load {page.key}: {page.path} (HTTP {probe.status_code}), {seconds}s")
            figures = run_locust(server.url, page, headers, users, seconds)
            figures.update(
                key=page.key, title=page.title, path=page.path, is_list=page.is_list,
                status=probe.status_code, available=probe.status_code == 200,
            )  # fmt: skip
            rows.append(figures)
    ceiling = next((r["rps"] for r in rows if r["key"] == "ceiling"), 0) or None
    for row in rows:
        row["pct_of_ceiling"] = round(100 * row["rps"] / ceiling, 1) if ceiling else None
    return {"workers": workers, "users": users, "seconds": seconds, "pages": rows}
