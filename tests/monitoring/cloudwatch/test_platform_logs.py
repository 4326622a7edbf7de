"""The platform's own logs go to CloudWatch Logs (watchtower) as JSON lines with request
and run ids, but only when IDP_CLOUDWATCH_LOG_GROUP is set: a separate Python process
configured like web, worker and beat are, against the local AWS API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.conf import settings

from .conftest import aws_client

SCRIPT = """
import logging, django
django.setup()
from idp.context import request_id_var, run_id_var
request_id_var.set("req-42")
run_id_var.set("77")
logging.getLogger("idp.check").warning("platform log line %s", "one")
"""


def test_no_cloudwatch_handler_unless_a_log_group_is_set() -> None:
    assert "cloudwatch" not in settings.LOGGING["handlers"]


@pytest.mark.integration
@pytest.mark.slow
def test_platform_logs_reach_the_log_group_as_json(aws: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "AWS_ENDPOINT_URL": aws,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "IDP_CLOUDWATCH_LOG_GROUP": "/idp/platform/test",
        "IDP_CLOUDWATCH_LOG_RETENTION_DAYS": "7",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr
    logs = aws_client(aws, "logs")
    group = logs.describe_log_groups(logGroupNamePrefix="/idp/platform/test")["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in group] == [
        ("/idp/platform/test", 7)
    ]
    streams = logs.describe_log_streams(logGroupName="/idp/platform/test")["logStreams"]
    events: list[dict[str, Any]] = []
    for stream in streams:
        events += logs.get_log_events(
            logGroupName="/idp/platform/test", logStreamName=stream["logStreamName"]
        )["events"]
    lines = [json.loads(e["message"]) for e in events]
    mine = [line for line in lines if line.get("name") == "idp.check"]
    assert len(mine) == 1, lines
    assert mine[0]["message"] == "platform log line one"
    assert (mine[0]["request_id"], mine[0]["run_id"], mine[0]["levelname"]) == (
        "req-42",
        "77",
        "WARNING",
    )


@pytest.mark.integration
def test_a_celery_worker_gets_the_handler_back_after_it_empties_the_root_logger(
    aws: str, settings: Any
) -> None:
    import logging

    from celery.signals import after_setup_logger

    from idp.context import run_id_var

    root = logging.Logger("worker-root")  # what Celery hands over, emptied
    after_setup_logger.send(sender=None, logger=root, loglevel=logging.INFO)
    assert root.handlers == []  # no log group set: nothing

    settings.IDP_CLOUDWATCH_LOG_GROUP = "/idp/platform/worker"
    after_setup_logger.send(sender=None, logger=root, loglevel=logging.INFO)
    after_setup_logger.send(sender=None, logger=root, loglevel=logging.INFO)
    assert len(root.handlers) == 1  # once, however often Celery sets logging up
    token = run_id_var.set("91")
    try:
        root.warning("run %s started", 91)
    finally:
        run_id_var.reset(token)
    root.handlers[0].close()  # flushes the batch

    logs = aws_client(aws, "logs")
    streams = logs.describe_log_streams(logGroupName="/idp/platform/worker")["logStreams"]
    lines = [
        json.loads(e["message"])
        for s in streams
        for e in logs.get_log_events(
            logGroupName="/idp/platform/worker", logStreamName=s["logStreamName"]
        )["events"]
    ]
    assert [(line["message"], line["run_id"]) for line in lines] == [("run 91 started", "91")]
