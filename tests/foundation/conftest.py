"""Fixtures for the foundation tests: one user per role in payments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idp.choices import Role
from idp.models import Team

ROLES = [Role.VIEWER, Role.MEMBER, Role.MAINTAINER, Role.ADMIN]


@pytest.fixture
def by_role(make_user: Callable[..., Any], teams: dict[str, Team]) -> dict[str, Any]:
    """One user per role in payments: role -> user (usernames are the role names + "-user")."""
    return {role: make_user(f"{role}-user", team=teams["payments"], role=role) for role in ROLES}


@pytest.fixture
def superuser(make_user: Callable[..., Any]) -> Any:
    return make_user("root", is_staff=True, is_superuser=True)
