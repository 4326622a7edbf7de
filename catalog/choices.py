from django.db import models


class Lifecycle(models.TextChoices):
    EXPERIMENTAL = "experimental", "Experimental"
    PRODUCTION = "production", "Production"
    DEPRECATED = "deprecated", "Deprecated"


class Tier(models.IntegerChoices):
    CRITICAL = 1, "Tier 1 (critical)"
    IMPORTANT = 2, "Tier 2"
    STANDARD = 3, "Tier 3"


class AuditAction(models.TextChoices):
    """What this app records in the audit log (values are the stored action names)."""

    SERVICE_ARCHIVED = "service.archived", "Service archived"
    SERVICE_CREATED = "service.created", "Service created"
    SERVICE_UPDATED = "service.updated", "Service updated"
    TEMPLATE_DEPRECATED = "template.deprecated", "Template deprecated"
    TEMPLATE_UNDEPRECATED = "template.undeprecated", "Template undeprecated"
    TEMPLATE_VERSION_CREATED = "template.version_created", "Template version created"
    ENTITIES_IMPORTED = "catalog.entities_imported", "Catalog entities imported"
    SOURCE_REGISTERED = "template_source.registered", "Template source registered"
    SOURCE_SYNCED = "template_source.synced", "Template source synced"
    SOURCE_WEBHOOK_ROTATED = (
        "template_source.webhook_secret_rotated",
        "Template source webhook secret rotated",
    )
    VERSION_DEPRECATED = "template.version_deprecated", "Template version deprecated"
    VERSION_WITHDRAWN = "template.version_withdrawn", "Template version withdrawn"
    VERSION_REACTIVATED = "template.version_reactivated", "Template version reactivated"


class EntityKind(models.TextChoices):
    """Backstage's descriptor kinds (apiVersion backstage.io/v1alpha1)."""

    COMPONENT = "Component", "Component"
    API = "API", "API"
    SYSTEM = "System", "System"
    DOMAIN = "Domain", "Domain"
    RESOURCE = "Resource", "Resource"
    GROUP = "Group", "Group"
    USER = "User", "User"


class RelationType(models.TextChoices):
    """Backstage's relations; each is stored with its inverse (`INVERSE`)."""

    OWNED_BY = "ownedBy", "owned by"
    OWNER_OF = "ownerOf", "owner of"
    PART_OF = "partOf", "part of"
    HAS_PART = "hasPart", "has part"
    PROVIDES_API = "providesApi", "provides API"
    API_PROVIDED_BY = "apiProvidedBy", "API provided by"
    CONSUMES_API = "consumesApi", "consumes API"
    API_CONSUMED_BY = "apiConsumedBy", "API consumed by"
    DEPENDS_ON = "dependsOn", "depends on"
    DEPENDENCY_OF = "dependencyOf", "dependency of"
    MEMBER_OF = "memberOf", "member of"
    HAS_MEMBER = "hasMember", "has member"
    CHILD_OF = "childOf", "child of"
    PARENT_OF = "parentOf", "parent of"


INVERSE: dict[str, str] = {
    RelationType.OWNED_BY: RelationType.OWNER_OF,
    RelationType.PART_OF: RelationType.HAS_PART,
    RelationType.PROVIDES_API: RelationType.API_PROVIDED_BY,
    RelationType.CONSUMES_API: RelationType.API_CONSUMED_BY,
    RelationType.DEPENDS_ON: RelationType.DEPENDENCY_OF,
    RelationType.MEMBER_OF: RelationType.HAS_MEMBER,
    RelationType.CHILD_OF: RelationType.PARENT_OF,
}
INVERSE.update({v: k for k, v in list(INVERSE.items())})


class EntityOrigin(models.TextChoices):
    """Where an entity comes from."""

    IMPORT = "import", "Imported catalog-info.yaml"
    LOCATION = "location", "Discovered at a registered location"
    PLATFORM = "platform", "The platform's own records"


class LocationType(models.TextChoices):
    GITHUB_ORG = "github-org", "GitHub organisation"
    GIT = "git", "Git repository (URL or local path)"


class DocsStatus(models.TextChoices):
    """A docs build's job statuses (idp.jobs.JobStatus values) in the words of docs."""

    QUEUED = "queued", "Queued"
    BUILDING = "running", "Building"
    SUCCEEDED = "succeeded", "Built"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ScoreLevel(models.TextChoices):
    NONE = "none", "None"
    BRONZE = "bronze", "Bronze"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"


class SourceRefType(models.TextChoices):
    TAGS = "tags", "Tags matching a pattern (one version per tag)"
    BRANCH = "branch", "A branch (a 'latest' channel: one version per commit)"


class SourceSyncState(models.TextChoices):
    IDLE = "idle", "Idle"
    QUEUED = "queued", "Queued"
    SYNCING = "syncing", "Syncing"


class VersionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated (new requests warned)"
    WITHDRAWN = "withdrawn", "Withdrawn (no new requests; existing resources flagged)"
