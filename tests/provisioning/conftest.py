"""Fixtures shared by the provisioning tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.utils import webhook_receiver


@pytest.fixture
def webhook(settings: Any) -> Iterator[list[dict[str, Any]]]:
    """A Slack-compatible receiver on loopback, configured as the platform's webhook; yields
    the JSON bodies it got."""
    with webhook_receiver() as (url, received):
        settings.IDP_SLACK_WEBHOOK_URL = url
        yield received
