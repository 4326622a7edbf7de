from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    """Local sign-up is off unless IDP_ALLOW_SIGNUP is set: ops add members to teams."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_ALLOW_SIGNUP)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """SSO users may always sign in; they see nothing until added to a team."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
