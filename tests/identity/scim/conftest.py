from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from .client import SCIM


@pytest.fixture
def scim(platform_admin: Any) -> SCIM:
    """A SCIM client with the token a platform admin made for Okta."""
    out = StringIO()
    call_command("create_scim_token", "--name", "okta", "--actor", "padmin", stdout=out)
    return SCIM(out.getvalue().strip())
