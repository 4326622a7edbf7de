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
