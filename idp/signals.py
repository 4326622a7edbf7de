from typing import Any

from django.contrib.auth.models import Group
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .choices import PLATFORM_ADMIN_GROUP


@receiver(post_migrate)
def ensure_platform_admin_group(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "name", "") == "idp":
        Group.objects.get_or_create(name=PLATFORM_ADMIN_GROUP)
