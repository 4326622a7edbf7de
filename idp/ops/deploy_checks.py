"""`manage.py check --deploy` checks of the ops endpoints' settings."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register

from idp.conf import setting


@register(Tags.security, deploy=True)
def check_metrics_token(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """/metrics needs its scrape token in a deployment: without it, it is off or open."""
    if setting("IDP_METRICS_TOKEN"):
        return []
    if setting("IDP_METRICS_REQUIRE_TOKEN"):
        effect = "/metrics answers 404 to everyone, so Prometheus scrapes nothing"
    else:
        effect = "/metrics is open to anyone who can reach the site"
    return [
        Warning(
            f"IDP_METRICS_TOKEN is not set: {effect}.",
            hint="Set IDP_METRICS_TOKEN to a random string and give Prometheus the same "
            "value as its bearer token.",
            id="idp.W001",
        )
    ]
