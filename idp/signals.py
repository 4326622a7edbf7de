from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.dispatch import receiver
from guardian.models import GroupObjectPermission, UserObjectPermission

from . import token_cache
from .choices import PLATFORM_ADMIN_GROUP
from .models import APIToken, ServiceAccount
from .rbac import permissions_changed


@receiver(post_migrate)
def ensure_platform_admin_group(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "name", "") == "idp":
        Group.objects.get_or_create(name=PLATFORM_ADMIN_GROUP)


# Whatever path changes who may see what (services, Django admin, guardian's helpers), the
# cached grants are dropped when it commits.
@receiver(post_save, sender=GroupObjectPermission)
@receiver(post_delete, sender=GroupObjectPermission)
@receiver(post_save, sender=UserObjectPermission)
@receiver(post_delete, sender=UserObjectPermission)
@receiver(post_delete, sender=Group)
def _object_permissions_changed(sender: Any, **kwargs: Any) -> None:
    permissions_changed()


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _group_members_changed(sender: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        permissions_changed()


# Whatever path changes a token, its user or its service account (services, SCIM, the Django
# admin, a cascade), the cached token is dropped at once (idp/token_cache.py).
post_save.connect(token_cache.token_changed, sender=APIToken, dispatch_uid="token-cache-save")
post_delete.connect(token_cache.token_changed, sender=APIToken, dispatch_uid="token-cache-del")
post_save.connect(
    token_cache.user_changed, sender=get_user_model(), dispatch_uid="token-cache-user"
)
for _signal in (post_save, post_delete):
    _signal.connect(
        token_cache.service_account_changed,
        sender=ServiceAccount,
        dispatch_uid=f"token-cache-account-{_signal is post_save}",
    )
