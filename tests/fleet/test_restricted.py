"""A fleet upgrade started by a maintainer leaves out the restricted resources they may not
act on (resource-level permissions), and names them when they are asked for by id."""

from __future__ import annotations

from typing import Any

import pytest

from idp.choices import Role
from provisioning import actions

from .test_form_filters import estate, names, start  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_a_maintainer_not_named_upgrades_around_a_restricted_resource(
    api_as,
    make_user,
    teams,
    bob,
    estate: dict[str, Any],  # noqa: F811
) -> None:
    ada = make_user("ada", team=teams["payments"], role=Role.ADMIN)
    prod = next(r for r in estate["resources"] if r.name == "pay-prod")
    actions.set_access(prod, actor=ada, restricted_to={"role": "admin"}, shared_with=[])

    answer = start(api_as(bob), {"kind": "team", "teams": ["payments"]})
    assert answer.status_code == 201, answer.content
    assert "pay-prod" not in names(answer.json())

    by_id = start(api_as(bob), {"kind": "resources", "resources": [prod.pk]})
    assert by_id.status_code == 403, by_id.content
    assert "pay-prod" in by_id.json()["detail"]

    # Its team's admin may.
    theirs = start(api_as(ada), {"kind": "resources", "resources": [prod.pk]})
    assert theirs.status_code == 201, theirs.content
