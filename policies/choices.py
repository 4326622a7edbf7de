from django.db import models


class Enforcement(models.TextChoices):
    """What a policy's failure does to a plan."""

    ADVISORY = "advisory", "Advisory (shown)"
    MANDATORY = "mandatory", "Mandatory (blocks approval and apply)"
    OVERRIDABLE = "mandatory-overridable", "Mandatory, a platform admin may override"


BLOCKING = (Enforcement.MANDATORY, Enforcement.OVERRIDABLE)


class PolicyKind(models.TextChoices):
    """What a Rego file answers: deny/warn on a plan, or what a plan needs to be approved
    (an approval rule: its package sits under `<namespace>.approval`)."""

    POLICY = "policy", "Policy (deny, warn)"
    APPROVAL = "approval", "Approval rule (require, auto_approve)"


class Level(models.TextChoices):
    """One result of one policy on one plan."""

    PASSED = "passed", "Passed"
    WARNING = "warning", "Warning"
    FAILURE = "failure", "Failure"


class Rule(models.TextChoices):
    """The conftest rule a message came from; `error` = the policy could not be evaluated."""

    DENY = "deny", "deny"
    VIOLATION = "violation", "violation"
    WARN = "warn", "warn"
    NONE = "", "—"
    ERROR = "error", "error"


class AuditAction(models.TextChoices):
    POLICY_VERSION_CREATED = "policy.version_created", "Policy version created"
    POLICY_BROKEN = "policy.broken", "Policy failed to load"
    POLICY_REMOVED = "policy.removed", "Policy removed"
