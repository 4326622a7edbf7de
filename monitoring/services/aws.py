"""boto3 clients for monitoring calls, and retry with backoff for throttled or failed calls."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from idp.conf import setting
from idp.models import Environment

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

RETRYABLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalError",
}


# The retries of the current collection pass, so it can record them.
_retried: ContextVar[list[str] | None] = ContextVar("monitoring_retried", default=None)


@contextmanager
def counting_retries() -> Iterator[list[str]]:
    """Collect a description of every retried call made inside the block."""
    retried: list[str] = []
    token = _retried.set(retried)
    try:
        yield retried
    finally:
        _retried.reset(token)


def _before_sleep(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    text = error_text(exc) if exc else "unknown"
    logger.warning("AWS call failed (attempt %s), retrying: %s", state.attempt_number, text)
    retried = _retried.get()
    if retried is not None:
        retried.append(text)


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx or a network error: another try later may work."""
    return _is_retryable(exc)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in RETRYABLE_CODES or status >= 500
    return isinstance(exc, BotoCoreError)


def call(fn: Callable[..., _T], /, **kwargs: Any) -> _T:
    """Call a boto3 operation, retrying throttling and transient failures with backoff."""
    attempts = setting("IDP_AWS_RETRY_ATTEMPTS")
    wait_max = setting("IDP_AWS_RETRY_WAIT_MAX")

    @retry(
        retry=retry_if_exception(_is_retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.2, max=wait_max),
        before_sleep=_before_sleep,
        reraise=True,
    )
    def _call() -> _T:
        return fn(**kwargs)

    return _call()


def error_text(exc: BaseException) -> str:
    """A short description of a failed call (never credentials)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def client(service: str, environment: Environment | None = None, region: str | None = None) -> Any:
    """A boto3 client for `service` in the environment's account (or the platform default)."""
    endpoint = getattr(environment, "aws_endpoint_url", "") or settings.AWS_ENDPOINT_URL
    region = region or getattr(environment, "aws_region", "") or settings.AWS_REGION
    session = boto3.session.Session()
    role_arn = getattr(environment, "aws_role_arn", "")
    if role_arn:
        sts = session.client("sts", region_name=region, endpoint_url=endpoint)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="idp-monitoring")["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    # Our own backoff (tenacity) decides retries, so botocore's are kept to one try.
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    # boto3-stubs type client() per literal service name; ours is chosen at run time.
    return session.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint, config=config
    )


def account_id(environment: Environment | None = None) -> str:
    """The AWS account of the environment, asked from STS when not configured."""
    configured = getattr(environment, "aws_account_id", "")
    if configured:
        return str(configured)
    return str(call(client("sts", environment).get_caller_identity)["Account"])
