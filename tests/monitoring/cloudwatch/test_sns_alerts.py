"""Alarms that notify: every alarm the platform creates has the team's SNS topic as its
action; what SNS posts to /hooks/sns/ is verified like SNS signs it (versions 1 and 2, the
certificate only from an allowed URL) before it shows on the alerts page and e-mails the
team; forged, altered or unknown-certificate messages are refused and leave no trace."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.core import mail

from monitoring.models import AlarmEvent, AlarmState, AlertChannel, TeamTopic
from monitoring.services import alarms, sns
from provisioning.models import Resource

from .conftest import aws_client

pytestmark = pytest.mark.integration


def make_cert(common_name: str = "sns.amazonaws.com") -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


class CertServer:
    """Serves PEM certificates over HTTP on loopback, the way SNS serves its signing cert."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                outer.fetches += 1
                body = outer.files.get(self.path)
                self.send_response(200 if body else 404)
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()


@pytest.fixture
def signer(settings: Any) -> Iterator[Any]:
    """A signing key whose certificate is served locally; the platform allows only that
    server's /SimpleNotificationService-<id>.pem URLs (as it allows only SNS's in production)."""
    server = CertServer()
    key, pem = make_cert()
    server.files["/SimpleNotificationService-good.pem"] = pem
    other_key, other_pem = make_cert()
    server.files["/SimpleNotificationService-other.pem"] = other_pem
    settings.IDP_SNS_CERT_URL_PATTERN = (
        rf"^{server.url.replace('.', '[.]')}/SimpleNotificationService-[A-Za-z0-9]+[.]pem$"
    )
    sns._certs.clear()
    server.key, server.other_key = key, other_key  # type: ignore[attr-defined]
    yield server
    server.server.shutdown()
    server.server.server_close()
    sns._certs.clear()


SIGNED = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": [
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ],
}


def sign(message: dict[str, Any], key: Any, cert_url: str, version: str = "2") -> dict[str, Any]:
    """Sign like SNS: "Name\\nvalue\\n" for each signed field present, in order."""
    text = "".join(
        f"{name}\n{message[name]}\n" for name in SIGNED[message["Type"]] if name in message
    )
    digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 - SNS v1
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {
        **message,
        "SignatureVersion": version,
        "Signature": base64.b64encode(signature).decode(),
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }


def alarm_notification(topic_arn: str, alarm_name: str, new: str = "ALARM") -> dict[str, Any]:
    """A CloudWatch alarm's state change as SNS delivers it."""
    body = {
        "AlarmName": alarm_name,
        "AlarmDescription": "IDP",
        "NewStateValue": new,
        "OldStateValue": "OK" if new == "ALARM" else "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [250.0] was greater than 100.0",
        "StateChangeTime": "2026-11-30T04:00:00.000+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{alarm_name}",
    }
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Subject": f'{new}: "{alarm_name}" in EU (Ireland)',
        "Message": json.dumps(body),
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }


def post(client: Any, message: dict[str, Any]) -> Any:
    # SNS posts JSON with a text/plain content type.
    return client.post("/hooks/sns/", data=json.dumps(message), content_type="text/plain")


@pytest.fixture
def alarmed(aws: str, teams: dict, make_resource: Any, alice: Any, bob: Any) -> Resource:
    """A provisioned queue of payments whose template has an alarm, created by the platform
    with the team's e-mail channel on file."""
    AlertChannel.objects.create(team=teams["payments"], kind="email", endpoint="oncall@example.com")
    resource = make_resource(
        teams["payments"],
        "sqs-queue",
        "orders",
        outputs={"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/payments-orders"},
    )
    assert len(alarms.on_resource_provisioned(resource)) == 1
    mail.outbox.clear()
    return resource


def test_every_alarm_notifies_the_teams_topic_with_its_endpoints_subscribed(
    aws: str, alarmed: Resource
) -> None:
    topic = TeamTopic.objects.get(team=alarmed.team, environment=alarmed.environment)
    assert topic.topic_arn.endswith(":idp-payments-dev-alarms")
    state = AlarmState.objects.get(resource=alarmed)
    found = aws_client(aws, "cloudwatch").describe_alarms(AlarmNames=[state.alarm_name])
    alarm = found["MetricAlarms"][0]
    assert alarm["AlarmActions"] == [topic.topic_arn]
    assert alarm["OKActions"] == [topic.topic_arn]
    subs = aws_client(aws, "sns").list_subscriptions_by_topic(TopicArn=topic.topic_arn)
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subs["Subscriptions"]) == [
        ("email", "oncall@example.com"),
        ("http", "http://localhost:8000/hooks/sns/"),
    ]


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_breaching_alarm_shows_in_the_portal_within_seconds_and_emails_the_team(
    aws: str,
    alarmed: Resource,
    signer: Any,
    version: str,
    client: Any,
    client_as: Any,
    api_as: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    topic = TeamTopic.objects.get(team=alarmed.team)
    state = AlarmState.objects.get(resource=alarmed)
    aws_client(aws, "cloudwatch").set_alarm_state(
        AlarmName=state.alarm_name, StateValue="ALARM", StateReason="Threshold Crossed"
    )
    message = sign(
        alarm_notification(topic.topic_arn, state.alarm_name),
        signer.key,
        f"{signer.url}/SimpleNotificationService-good.pem",
        version,
    )
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the e-mails go on commit
        response = post(client, message)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "recorded"}
    assert time.monotonic() - started < 5

    event = AlarmEvent.objects.get()
    assert (event.team, event.resource, event.old_state, event.new_state) == (
        alarmed.team,
        alarmed,
        "OK",
        "ALARM",
    )
    state.refresh_from_db()
    assert state.state == "ALARM"
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    assert mail.outbox[0].subject == f"[IDP] ALARM: {state.alarm_name}"
    assert "Threshold Crossed" in mail.outbox[0].body

    # SNS delivers at least once: the same message again is no second event nor e-mail.
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, message).json() == {"status": "ignored"}
    assert AlarmEvent.objects.count() == 1 and len(mail.outbox) == 2

    page = client_as(alice).get("/monitoring/alerts/").content.decode()
    assert state.alarm_name in page and "Acknowledge" in page
    assert state.alarm_name not in client_as(carol).get("/monitoring/alerts/").content.decode()
    assert api_as(carol).get("/api/v1/alarm-events/").json()["results"] == []
    assert api_as(carol).post(f"/api/v1/alarm-events/{event.pk}/acknowledge/").status_code == 404

    acked = client_as(alice).post(f"/monitoring/alerts/{event.pk}/acknowledge/")
    assert acked.status_code == 302
    event.refresh_from_db()
    assert event.acknowledged_by == alice and event.acknowledged_at is not None
    again = api_as(bob).post(f"/api/v1/alarm-events/{event.pk}/acknowledge/")
    assert again.status_code == 409
    listed = api_as(bob).get("/api/v1/alarm-events/", {"state": "ALARM"}).json()["results"]
    assert [(e["alarm_name"], e["acknowledged_by"]) for e in listed] == [
        (state.alarm_name, "alice")
    ]
    assert api_as(bob).get("/api/v1/alarm-events/", {"open": "true"}).json()["results"] == []
    bad = api_as(bob).get("/api/v1/alarm-events/", {"state": "ON_FIRE"})
    assert bad.status_code == 400 and "state" in bad.json()["detail"]


def _forgeries(topic_arn: str, alarm_name: str, signer: Any) -> dict[str, dict[str, Any]]:
    good_url = f"{signer.url}/SimpleNotificationService-good.pem"
    base = alarm_notification(topic_arn, alarm_name)
    altered = sign(base, signer.key, good_url)
    altered["Message"] = altered["Message"].replace("ALARM", "OK")
    wrong_key = sign(base, signer.other_key, good_url)
    unknown_cert = sign(base, signer.key, f"{signer.url}/SimpleNotificationService-none.pem")
    outside = sign(base, signer.key, "http://127.0.0.1:9/SimpleNotificationService-good.pem")
    other_topic = sign(
        alarm_notification("arn:aws:sns:eu-west-1:123456789012:not-ours", alarm_name),
        signer.key,
        good_url,
    )
    version3 = sign(base, signer.key, good_url)
    version3["SignatureVersion"] = "3"
    unsigned = {k: v for k, v in sign(base, signer.key, good_url).items() if k != "Signature"}
    return {
        "altered": altered,
        "wrong key": wrong_key,
        "unknown certificate": unknown_cert,
        "certificate URL not allowed": outside,
        "not our topic": other_topic,
        "signature version 3": version3,
        "unsigned": unsigned,
    }


def test_forged_altered_or_unknown_certificate_messages_are_refused(
    aws: str, alarmed: Resource, signer: Any, client: Any
) -> None:
    topic = TeamTopic.objects.get(team=alarmed.team)
    state = AlarmState.objects.get(resource=alarmed)
    for name, message in _forgeries(topic.topic_arn, state.alarm_name, signer).items():
        response = post(client, message)
        assert response.status_code == 403, name
        assert response.json() == {"detail": "Not a verified SNS message."}
    assert post(client, {"Type": "Notification"}).status_code == 403
    assert client.post("/hooks/sns/", data="not json", content_type="text/plain").status_code == 400
    assert client.get("/hooks/sns/").status_code == 405
    assert not AlarmEvent.objects.exists() and not mail.outbox
    state.refresh_from_db()
    assert state.state == "INSUFFICIENT_DATA"


def test_subscription_confirmation_is_confirmed_through_the_api(
    aws: str, alarmed: Resource, signer: Any, client: Any
) -> None:
    topic = TeamTopic.objects.get(team=alarmed.team)
    message = sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37fb687f5d51e6e2425",
            "TopicArn": topic.topic_arn,
            "Message": "You have chosen to subscribe to the topic. To confirm, visit the URL.",
            # Never fetched: a forged URL here must not make the platform call it.
            "SubscribeURL": "http://127.0.0.1:9/evil",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        signer.key,
        f"{signer.url}/SimpleNotificationService-good.pem",
    )
    response = post(client, message)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert not AlarmEvent.objects.exists()


def test_team_admins_manage_channels_which_follow_the_topics_subscriptions(
    aws: str, alarmed: Resource, make_user: Any, api_as: Any, alice: Any, carol: Any
) -> None:
    from idp.choices import Role
    from idp.models import AuditEvent

    admin = make_user("dana", team=alarmed.team, role=Role.ADMIN)
    topic = TeamTopic.objects.get(team=alarmed.team)
    hook = "https://hooks.example.com/services/T000/B000/secret-token"
    body = {"team": "payments", "kind": "slack", "endpoint": hook}

    assert api_as(alice).post("/api/v1/alert-channels/", body).status_code == 403
    assert api_as(carol).post("/api/v1/alert-channels/", body).status_code == 400  # not hers
    bad = api_as(admin).post("/api/v1/alert-channels/", {**body, "endpoint": "http://x"})
    assert bad.status_code == 400 and "endpoint" in bad.json()["detail"]
    created = api_as(admin).post("/api/v1/alert-channels/", body)
    assert created.status_code == 201, created.content

    def subscribed() -> list[tuple[str, str]]:
        subs = aws_client(aws, "sns").list_subscriptions_by_topic(TopicArn=topic.topic_arn)
        return sorted((s["Protocol"], s["Endpoint"]) for s in subs["Subscriptions"])

    assert ("https", hook) in subscribed()
    audit = AuditEvent.objects.filter(action="monitoring.channel_added").last()
    assert audit is not None and "secret-token" not in str(audit.details)
    assert api_as(carol).get("/api/v1/alert-channels/").json()["results"] == []
    channel_id = created.json()["id"]
    assert api_as(carol).delete(f"/api/v1/alert-channels/{channel_id}/").status_code == 404
    assert api_as(admin).delete(f"/api/v1/alert-channels/{channel_id}/").status_code == 204
    assert ("https", hook) not in subscribed()
    assert ("email", "oncall@example.com") in subscribed()


def test_an_alarm_made_before_alarms_notified_gets_its_actions_on_the_next_poll(
    aws: str, teams: dict, make_resource: Any
) -> None:
    resource = make_resource(teams["search"], "sqs-queue", "jobs")
    name = alarms.alarm_name(resource, "ApproximateNumberOfMessagesVisible")
    cloudwatch = aws_client(aws, "cloudwatch")
    cloudwatch.put_metric_alarm(  # as the platform made it before: no actions
        AlarmName=name,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "jobs"}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=100,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="old")
    AlarmState.objects.create(
        resource=resource,
        alarm_name=name,
        metric="ApproximateNumberOfMessagesVisible",
        namespace="AWS/SQS",
        threshold=100,
        comparison="GreaterThanThreshold",
    )

    assert alarms.refresh_alarm_states() == 1

    topic = TeamTopic.objects.get(team=teams["search"])
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert found["AlarmActions"] == [topic.topic_arn]
    assert AlarmState.objects.get(alarm_name=name).state == "ALARM"  # kept, not reset
