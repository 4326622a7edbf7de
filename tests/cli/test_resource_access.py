"""`idp resources access ID`: show and change who may act on a resource and which teams see
it, over real HTTP; a maintainer not named is refused by `idp resources destroy`."""

from __future__ import annotations

import json

import pytest

from catalog.models import Template
from catalog.services.sync import sync_templates
from idp.choices import Role
from idp.models import Environment
from provisioning.choices import ResourceStatus
from provisioning.models import Resource

from .conftest import one_error_line


@pytest.fixture
def db_row(db: None, teams: dict) -> Resource:
    report = sync_templates(only=["example-config"])
    assert report.loaded == ["example-config"], report.failed
    template = Template.objects.get(slug="example-config")
    env = Environment.objects.create(slug="dev", name="Dev", order=1, members_may_destroy=True)
    return Resource.objects.create(
        team=teams["payments"],
        template=template,
        template_version=template.current_version,
        environment=env,
        name="orders-db",
        status=ResourceStatus.PROVISIONED,
        parameters={"message": "hi"},
    )


def test_restrict_share_and_refuse(cli, token_for, make_user, teams, bob, carol, db_row):
    ada = make_user("ada", team=teams["payments"], role=Role.ADMIN)
    dave = make_user("dave", team=teams["payments"], role=Role.MAINTAINER)
    admin_token = token_for(ada)

    shown = cli("resources", "access", str(db_row.pk), token=admin_token)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.strip() == "the team's roles"

    changed = cli(
        "resources", "access", str(db_row.pk),
        "--restrict-role", "admin", "--restrict-user", "bob", "--share", "search:use",
        token=admin_token,
    )  # fmt: skip
    assert changed.exit_code == 0, changed.stderr
    assert changed.stdout.strip() == "restricted to admins and above, bob; shared with search (use)"

    refused = cli("resources", "destroy", str(db_row.pk), token=token_for(dave))
    assert refused.exit_code == 3  # AUTH: refused
    assert "is restricted" in one_error_line(refused)
    db_row.refresh_from_db()
    assert db_row.status == ResourceStatus.PROVISIONED

    # carol of search sees it (and its access), not to act on it.
    theirs = cli("resources", "show", str(db_row.pk), "-o", "json", token=token_for(carol))
    assert theirs.exit_code == 0, theirs.stderr
    body = json.loads(theirs.stdout)
    assert body["allowed_actions"] == []
    assert body["access"]["shared_with"] == [{"team": "search", "level": "use"}]

    not_admin = cli("resources", "access", str(db_row.pk), "--unrestrict", token=token_for(bob))
    assert not_admin.exit_code == 3
    assert "Only admins of payments" in one_error_line(not_admin)

    lifted = cli("resources", "access", str(db_row.pk), "--unrestrict", "--unshare", "search",
                 token=admin_token)  # fmt: skip
    assert lifted.exit_code == 0, lifted.stderr
    assert lifted.stdout.strip() == "the team's roles"
