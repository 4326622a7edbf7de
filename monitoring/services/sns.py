"""Alarm notifications through SNS: a topic per team and environment (created by the
platform) with the team's e-mail and Slack-compatible endpoints and the platform's own
HTTPS endpoint subscribed; every alarm the platform creates notifies it.

What SNS posts to the platform is verified (signature version 1 or 2, certificate fetched
only from a URL matching IDP_SNS_CERT_URL_PATTERN, topic one of ours) before anything is
recorded: an alarm's change becomes an `AlarmEvent` on the alerts page and an e-mail to the
team's members.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import urllib.request
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from idp import audit
from idp.actors import Person, signed_in
from idp.conf import setting
from idp.models import Environment, Membership, Team
from idp.rbac import has_team_perm
from idp.services import Conflict, Forbidden, ServiceError

from ..choices import AuditAction, ChannelKind
from ..models import AlarmEvent, AlarmState, AlertChannel, TeamTopic
from . import aws

logger = logging.getLogger(__name__)

CERT_TIMEOUT = 5  # seconds: SNS waits ~15 s for our answer
MAX_CERT_BYTES = 16 * 1024
ALARM_STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")

# The fields SNS signs, in order, per message type (absent optional ones are left out).
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
SIGNED_FIELDS["UnsubscribeConfirmation"] = SIGNED_FIELDS["SubscriptionConfirmation"]
REQUIRED_OPTIONAL = {"Subject"}  # the only field that may be missing from the string

_certs: dict[str, x509.Certificate] = {}
_certs_lock = threading.Lock()


class SignatureError(Exception):
    """A message that is not provably from SNS: refused (403), nothing recorded."""


# --- topics --------------------------------------------------------------------------------


def topic_name(team: Team, environment: Environment) -> str:
    return f"idp-{team.slug}-{environment.slug}-alarms"[:256]


def platform_endpoint() -> str:
    """Where SNS posts notifications: IDP_SNS_ENDPOINT_URL, else the site's /hooks/sns/."""
    configured = setting("IDP_SNS_ENDPOINT_URL")
    if configured:
        return str(configured)
    return setting("IDP_SITE_URL").rstrip("/") + reverse("sns_endpoint")


def _subscribe(client: Any, topic_arn: str, protocol: str, endpoint: str) -> str:
    answer = aws.call(
        client.subscribe,
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        ReturnSubscriptionArn=True,
    )
    return str(answer.get("SubscriptionArn") or "pending")


def ensure_team_topic(
    team: Team, environment: Environment, *, actor: Person | None = None
) -> TeamTopic:
    """The team's alarm topic in the environment's account, created (idempotently, as
    CreateTopic is) with the platform endpoint and the team's channels subscribed."""
    client = aws.client("sns", environment)
    answer = aws.call(
        client.create_topic,
        Name=topic_name(team, environment),
        Tags=[
            {"Key": "idp:team", "Value": team.slug},
            {"Key": "idp:environment", "Value": environment.slug},
        ],
    )
    arn = str(answer["TopicArn"])
    topic, created = TeamTopic.objects.get_or_create(
        team=team, environment=environment, defaults={"topic_arn": arn}
    )
    if topic.topic_arn != arn:
        topic.topic_arn = arn
    subscribe_channels(topic, client=client)
    if created:
        audit.record(
            AuditAction.MONITORING_TOPIC_CREATED,
            actor=actor,
            target=topic,
            team=team,
            details={"topic": arn, "environment": environment.slug},
        )
    return topic


def subscribe_channels(topic: TeamTopic, *, client: Any = None) -> TeamTopic:
    """Subscribe the platform endpoint and every channel of the team not yet subscribed;
    unsubscribe channels the team removed."""
    client = client or aws.client("sns", topic.environment)
    wanted: dict[str, tuple[str, str]] = {}
    endpoint = platform_endpoint()
    wanted[endpoint] = ("https" if endpoint.startswith("https:") else "http", endpoint)
    for channel in AlertChannel.objects.filter(team_id=topic.team_id):
        protocol = "email" if channel.kind == ChannelKind.EMAIL else "https"
        wanted[channel.endpoint] = (protocol, channel.endpoint)
    subscriptions = dict(topic.subscriptions or {})
    for key, (protocol, target) in wanted.items():
        if key not in subscriptions:
            subscriptions[key] = _subscribe(client, topic.topic_arn, protocol, target)
    for key in [k for k in subscriptions if k not in wanted]:
        arn = subscriptions.pop(key)
        if arn.startswith("arn:"):
            try:
                aws.call(client.unsubscribe, SubscriptionArn=arn)
            except Exception as exc:  # noqa: BLE001 - a stale subscription only costs mail
                logger.warning("unsubscribing from %s failed: %s", topic, aws.error_text(exc))
    topic.subscriptions = subscriptions
    topic.save(update_fields=["topic_arn", "subscriptions", "updated_at"])
    return topic


def add_channel(
    team: Team, kind: str, endpoint: str, *, actor: Person | None = None
) -> AlertChannel:
    """Add an alert channel to the team (team admins) and subscribe it to the team's
    topics; adding one the team has is a no-op."""
    endpoint = str(endpoint or "").strip()
    if actor is not None and not has_team_perm(actor, team, "manage_team"):
        raise Forbidden("Only the team's admins manage its alert channels.")
    try:
        if kind == ChannelKind.EMAIL:
            EmailValidator()(endpoint)
        elif kind == ChannelKind.SLACK:
            URLValidator(schemes=["https"])(endpoint)
        else:
            raise ServiceError(f"Choose one of {', '.join(ChannelKind.values)}.", field="kind")
    except ValidationError:
        what = "e-mail address" if kind == ChannelKind.EMAIL else "https:// URL"
        raise ServiceError(f"Give a valid {what}.", field="endpoint") from None
    with transaction.atomic():
        channel, created = AlertChannel.objects.get_or_create(
            team=team, kind=kind, endpoint=endpoint
        )
        if created:
            audit.record(
                AuditAction.MONITORING_CHANNEL_ADDED,
                actor=actor,
                target=channel,
                team=team,
                # The address is no secret; a webhook URL may carry a token: kind only.
                details={"kind": kind, "endpoint": endpoint if kind == ChannelKind.EMAIL else ""},
            )
    _resubscribe(team)
    return channel


def remove_channel(channel: AlertChannel, *, actor: Person | None = None) -> None:
    """Remove a team's alert channel and unsubscribe it from the team's topics."""
    team = channel.team
    if actor is not None and not has_team_perm(actor, team, "manage_team"):
        raise Forbidden("Only the team's admins manage its alert channels.")
    with transaction.atomic():
        audit.record(
            AuditAction.MONITORING_CHANNEL_REMOVED,
            actor=actor,
            target=channel,
            team=team,
            details={"kind": channel.kind},
        )
        channel.delete()
    _resubscribe(team)


def _resubscribe(team: Team) -> None:
    """Bring every topic of the team in line with its channels (after the change committed:
    a failure here leaves the channel saved, and the next change or alarm retries)."""
    for topic in TeamTopic.objects.filter(team=team).select_related("environment"):
        try:
            subscribe_channels(topic)
        except Exception as exc:  # noqa: BLE001 - SNS down: retried on the next change
            logger.warning("subscriptions of %s not updated: %s", topic, aws.error_text(exc))


# --- verification --------------------------------------------------------------------------


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical text SNS signs: each present signed field's name and value, one per
    line, in the documented order."""
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(str(kind))
    if fields is None:
        raise SignatureError("unknown message type")
    lines: list[str] = []
    for name in fields:
        if name not in message:
            if name in REQUIRED_OPTIONAL:
                continue
            raise SignatureError(f"{name} missing")
        value = message[name]
        if not isinstance(value, str):
            raise SignatureError(f"{name} is not text")
        lines += [name, value]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _certificate(url: str) -> x509.Certificate:
    """The signing certificate at `url` (which must match the allowed pattern), cached."""
    if not isinstance(url, str) or not re.fullmatch(setting("IDP_SNS_CERT_URL_PATTERN"), url):
        raise SignatureError("certificate URL not allowed")
    with _certs_lock:
        cached = _certs.get(url)
    if cached is None:
        try:
            with urllib.request.urlopen(url, timeout=CERT_TIMEOUT) as response:  # noqa: S310
                pem = response.read(MAX_CERT_BYTES + 1)
            if len(pem) > MAX_CERT_BYTES:
                raise SignatureError("certificate too large")
            cached = x509.load_pem_x509_certificate(pem)
        except SignatureError:
            raise
        except Exception as exc:  # noqa: BLE001 - unreachable or not a certificate
            raise SignatureError(f"certificate not loaded: {type(exc).__name__}") from None
        with _certs_lock:
            if len(_certs) > 100:
                _certs.clear()
            _certs[url] = cached
    now = datetime.now(UTC)
    if not (cached.not_valid_before_utc <= now <= cached.not_valid_after_utc):
        raise SignatureError("certificate expired or not yet valid")
    return cached


def verify(message: dict[str, Any]) -> None:
    """Raise SignatureError unless the message carries a valid SNS signature."""
    version = message.get("SignatureVersion")
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()  # noqa: S303 - SNS's signature version 1 is SHA1
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise SignatureError("unsupported signature version")
    text = string_to_sign(message)
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except ValueError:
        raise SignatureError("signature is not base64") from None
    key = _certificate(str(message.get("SigningCertURL", ""))).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("not an RSA certificate")
    try:
        key.verify(signature, text, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SignatureError("bad signature") from None


# --- messages ------------------------------------------------------------------------------


def receive(message: dict[str, Any]) -> dict[str, Any]:
    """Verify and act on one SNS message; raises SignatureError (403) when it is not a
    signed message of one of our topics."""
    verify(message)
    topic = (
        TeamTopic.objects.select_related("team", "environment")
        .filter(topic_arn=message.get("TopicArn"))
        .first()
    )
    if topic is None:
        raise SignatureError("not one of the platform's topics")
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        # Confirmed through the API, never by fetching the SubscribeURL we were sent.
        client = aws.client("sns", topic.environment)
        answer = aws.call(
            client.confirm_subscription, TopicArn=topic.topic_arn, Token=message["Token"]
        )
        return {"status": "confirmed", "subscription": answer.get("SubscriptionArn", "")}
    if kind == "UnsubscribeConfirmation":
        return {"status": "ignored"}
    event = record_alarm_change(topic, message)
    return {"status": "recorded" if event else "ignored"}


def _alarm_body(message: dict[str, Any]) -> dict[str, Any] | None:
    try:
        body = json.loads(message.get("Message") or "")
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("NewStateValue") not in ALARM_STATES:
        return None
    if not isinstance(body.get("AlarmName"), str) or not body["AlarmName"]:
        return None
    return body


def record_alarm_change(topic: TeamTopic, message: dict[str, Any]) -> AlarmEvent | None:
    """Store a CloudWatch alarm notification as an AlarmEvent (once per MessageId), move the
    alarm's known state, and e-mail the team on commit."""
    body = _alarm_body(message)
    if body is None:
        return None
    name = body["AlarmName"][:255]
    alarm = (
        AlarmState.objects.select_related("resource")
        .filter(alarm_name=name, resource__team_id=topic.team_id)
        .first()
    )
    occurred = parse_datetime(str(body.get("StateChangeTime", "")).replace("+0000", "+00:00"))
    try:
        with transaction.atomic():
            event = AlarmEvent.objects.create(
                team=topic.team,
                alarm=alarm,
                resource=alarm.resource if alarm else None,
                alarm_name=name,
                old_state=str(body.get("OldStateValue", ""))[:20],
                new_state=body["NewStateValue"],
                reason=str(body.get("NewStateReason", ""))[:4000],
                occurred_at=occurred or timezone.now(),
                message_id=str(message["MessageId"])[:100],
                topic_arn=topic.topic_arn,
            )
            if alarm is not None and alarm.state != event.new_state:
                alarm.state = event.new_state
                alarm.state_reason = event.reason[:2000]
                alarm.save(update_fields=["state", "state_reason", "updated_at"])
            audit.record(
                AuditAction.MONITORING_ALARM_CHANGED,
                target=event.resource or topic,
                team=topic.team,
                details={"alarm": name, "from": event.old_state, "to": event.new_state},
            )
            transaction.on_commit(lambda: notify_team(event.pk))
    except IntegrityError:
        return None  # SNS delivers at least once: this MessageId is already recorded
    return event


def notify_team(event_pk: int) -> int:
    """E-mail the team's members about an alarm's change (and the platform webhook)."""
    from provisioning.notifications import post_webhook, send_mails, site_url

    event = AlarmEvent.objects.select_related("team", "resource").get(pk=event_pk)
    members = Membership.objects.filter(team=event.team).values("user_id")
    addresses = list(
        get_user_model()
        .objects.filter(pk__in=members, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    subject = f"[IDP] {event.new_state}: {event.alarm_name}"
    what = f" of {event.resource.name}" if event.resource else ""
    body = (
        f"The alarm {event.alarm_name}{what} went from {event.old_state or '?'} to "
        f"{event.new_state}.\n\nReason: {event.reason}\n\n"
        f"Acknowledge it: {site_url(reverse('monitoring:alerts'))}\n"
    )
    sent = send_mails(subject, body, addresses) if addresses else 0
    post_webhook(subject, body)
    AlarmEvent.objects.filter(pk=event.pk).update(emailed_to=sent)
    return sent


def acknowledge(event: AlarmEvent, *, actor: Person) -> AlarmEvent:
    """Mark an alarm event seen by a team member; once only."""
    user = signed_in(actor)
    if user is None or not has_team_perm(user, event.team, "use_team"):
        raise Forbidden("Only the team's members acknowledge its alarms.")
    with transaction.atomic():
        now = timezone.now()
        if not AlarmEvent.objects.filter(pk=event.pk, acknowledged_at=None).update(
            acknowledged_at=now, acknowledged_by=user
        ):
            raise Conflict("This alarm was already acknowledged.")
        event.acknowledged_at, event.acknowledged_by = now, user
        audit.record(
            AuditAction.MONITORING_ALARM_ACKNOWLEDGED,
            actor=actor,
            target=event,
            team=event.team,
            details={"alarm": event.alarm_name, "state": event.new_state},
        )
    return event
