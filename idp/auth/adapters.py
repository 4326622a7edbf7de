from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from idp.choices import PLATFORM_ADMIN_GROUP

from . import groups


class AccountAdapter(DefaultAccountAdapter):
    """Local sign-up is off unless IDP_ALLOW_SIGNUP is set: ops add members to teams."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_ALLOW_SIGNUP)

    def post_login(
        self,
        request: HttpRequest,
        user: Any,
        *,
        email_verification: str,
        signal_kwargs: dict[str, Any] | None,
        email: str | None,
        signup: bool,
        redirect_url: str | None,
    ) -> HttpResponse:
        """An SSO sign-in applies the user's IdP groups to their team memberships first;
        then someone who ends up in no team lands on a page that says whom to ask."""
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None:
            idp_groups = groups.groups_of_sociallogin(sociallogin)
            if idp_groups is not None:
                groups.apply_idp_groups(user, idp_groups)
            if not _in_any_team(user):
                redirect_url = reverse("sso_no_team")
        return super().post_login(
            request,
            user,
            email_verification=email_verification,
            signal_kwargs=signal_kwargs,
            email=email,
            signup=signup,
            redirect_url=redirect_url,
        )


def _in_any_team(user: Any) -> bool:
    return (
        user.is_superuser
        or user.memberships.exists()
        or user.groups.filter(name=PLATFORM_ADMIN_GROUP).exists()
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """SSO users may always sign in; their IdP groups decide their teams."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
