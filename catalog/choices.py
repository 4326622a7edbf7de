from django.db import models


class Lifecycle(models.TextChoices):
    EXPERIMENTAL = "experimental", "Experimental"
    PRODUCTION = "production", "Production"
    DEPRECATED = "deprecated", "Deprecated"


class Tier(models.IntegerChoices):
    CRITICAL = 1, "Tier 1 (critical)"
    IMPORTANT = 2, "Tier 2"
    STANDARD = 3, "Tier 3"
