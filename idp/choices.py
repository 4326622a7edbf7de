from django.db import models

# Token scopes have one home (`idp.scopes`): names, implications, who may give which, and
# the check; re-exported here for the code that reads choices.
from .scopes import PERSONAL_TOKEN_SCOPES as PERSONAL_TOKEN_SCOPES
from .scopes import SCIM_SERVICE_USER as SCIM_SERVICE_USER
from .scopes import SERVICE_ACCOUNT_SCOPES as SERVICE_ACCOUNT_SCOPES
from .scopes import TokenScope as TokenScope


class Role(models.TextChoices):
    """Team roles, weakest first: each role holds every permission of the ones before it."""

    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    MAINTAINER = "maintainer", "Maintainer"
    ADMIN = "admin", "Admin"


ROLE_ORDER = [Role.VIEWER, Role.MEMBER, Role.MAINTAINER, Role.ADMIN]

# Object permissions on a Team, granted to the team's role groups.
# view_team: see the team and everything it owns.
# use_team: request resources, run plans, create services.
# maintain_team: edit services, approve plans, destroy, deliver pipelines.
# manage_team: manage members and budgets.
TEAM_PERMS_BY_ROLE: dict[str, list[str]] = {
    Role.VIEWER: ["view_team"],
    Role.MEMBER: ["view_team", "use_team"],
    Role.MAINTAINER: ["view_team", "use_team", "maintain_team"],
    Role.ADMIN: ["view_team", "use_team", "maintain_team", "manage_team"],
}

PLATFORM_ADMIN_GROUP = "platform-admin"


class MembershipSource(models.TextChoices):
    """Who granted a membership: a person, or an identity provider's group."""

    MANUAL = "manual", "Granted by a person"
    SSO = "sso", "From an SSO group"
    SCIM = "scim", "From a SCIM group"


class SSOMappingMode(models.TextChoices):
    MANAGE = "manage", "Add, change and remove memberships"
    ADD_ONLY = "add_only", "Only add memberships"


class StateLocking(models.TextChoices):
    S3_LOCKFILE = "s3_lockfile", "S3 lock file (use_lockfile)"
    DYNAMODB = "dynamodb", "DynamoDB lock table"


class AuditAction(models.TextChoices):
    """What this app records in the audit log (values are the stored action names)."""

    API_TOKEN_CREATED = "api_token.created", "Api token created"
    API_TOKEN_REVOKED = "api_token.revoked", "Api token revoked"
    ENVIRONMENT_CREATED = "environment.created", "Environment created"
    ENVIRONMENT_UPDATED = "environment.updated", "Environment updated"
    MEMBERSHIP_ADDED = "membership.added", "Membership added"
    MEMBERSHIP_REMOVED = "membership.removed", "Membership removed"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "Membership role changed"
    PLATFORM_HEARTBEAT = "platform.heartbeat", "Platform heartbeat"
    SERVICE_ACCOUNT_CREATED = "service_account.created", "Service account created"
    SERVICE_ACCOUNT_UPDATED = "service_account.updated", "Service account updated"
    SERVICE_ACCOUNT_DISABLED = "service_account.disabled", "Service account disabled"
    SERVICE_ACCOUNT_ENABLED = "service_account.enabled", "Service account enabled"
    WORKLOAD_IDENTITY_BOUND = "workload_identity.bound", "Workload identity bound"
    WORKLOAD_IDENTITY_UNBOUND = "workload_identity.unbound", "Workload identity removed"
    WORKLOAD_TOKEN_ISSUED = "workload_identity.token_issued", "Platform token issued to CI"
    TEAM_CREATED = "team.created", "Team created"
    TEAM_UPDATED = "team.updated", "Team updated"
    USER_PLATFORM_ADMIN_GRANTED = "user.platform_admin_granted", "User platform admin granted"
    USER_PLATFORM_ADMIN_REVOKED = "user.platform_admin_revoked", "User platform admin revoked"
    USER_NOTIFICATIONS_CHANGED = "user.notifications_changed", "Notification preferences changed"
    USER_PROVISIONED = "user.provisioned", "User provisioned (SCIM)"
    USER_UPDATED = "user.updated", "User updated (SCIM)"
    USER_HANDED_TO_SCIM = "user.handed_to_scim", "User handed to SCIM by a platform admin"
    USER_DEACTIVATED = "user.deactivated", "User deactivated"
    USER_REACTIVATED = "user.reactivated", "User reactivated"
    SSO_MAPPING_SAVED = "sso_mapping.saved", "SSO group mapping saved"
    SSO_MAPPING_DELETED = "sso_mapping.deleted", "SSO group mapping deleted"
