"""The one retry policy of background work: named transient exceptions only, exponential
backoff with jitter (Celery's `retry_backoff` formula), a bounded number of attempts.

A job kind names its transient exceptions; anything else fails the job at once with its
message. There is no "retry on any Exception": a bug or a refused input retried five times
only hides it for longer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery.utils.time import get_exponential_backoff_interval


@dataclass(frozen=True)
class RetryPolicy:
    """Which errors are worth another attempt, how many attempts, and how long to wait."""

    transient: tuple[type[BaseException], ...]
    max_attempts: int = 6  # the first attempt and five retries
    backoff: int = 10  # seconds before the first retry, doubled each time
    backoff_max: int = 600
    jitter: bool = True
    # A finer test on an instance of a named exception (e.g. GitHubError.transient).
    when: Callable[[BaseException], bool] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        broad = {BaseException, Exception}
        if not self.transient or broad & set(self.transient):
            raise ValueError("Name the transient exceptions; Exception itself is not one.")

    def is_transient(self, exc: BaseException) -> bool:
        if not isinstance(exc, self.transient):
            return False
        return self.when is None or bool(self.when(exc))

    def should_retry(self, exc: BaseException, attempts: int) -> bool:
        """Retry after attempt number `attempts` (1 = the first) failed with `exc`?"""
        return attempts < self.max_attempts and self.is_transient(exc)

    def delay(self, attempts: int, exc: BaseException | None = None) -> int:
        """Seconds before the next attempt: the error's own `retry_after` (a rate limit's
        reset) when it gives one, else backoff * 2**(attempts-1), capped, with jitter."""
        asked = getattr(exc, "retry_after", None)
        if isinstance(asked, int | float) and asked > 0:
            return int(asked)
        return int(
            get_exponential_backoff_interval(
                self.backoff, max(attempts - 1, 0), self.backoff_max, self.jitter
            )
        )

    def celery_options(self) -> dict[str, Any]:
        """The same policy as `@shared_task` options, for a task without a job row."""
        return {
            "autoretry_for": self.transient,
            "retry_backoff": self.backoff,
            "retry_backoff_max": self.backoff_max,
            "retry_jitter": self.jitter,
            "max_retries": self.max_attempts - 1,
        }
