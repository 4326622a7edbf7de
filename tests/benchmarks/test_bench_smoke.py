"""The benchmark's code paths at tiny scale, so they keep working between full runs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from guardian.models import GroupObjectPermission

from benchmarks import queries, seed
from benchmarks.report import summarise_queries
from idp.choices import ROLE_ORDER, TEAM_PERMS_BY_ROLE
from idp.models import Membership, Team
from idp.rbac import has_team_perm
from provisioning.models import Resource

pytestmark = pytest.mark.django_db


def test_seed_makes_teams_as_create_team_does_and_the_member_sees_only_their_teams() -> None:
    seeded = seed.seed(seed.TINY)

    assert seeded.counts["teams"] == seed.TINY.teams
    assert seeded.counts["resources"] == seed.TINY.resources
    assert seeded.counts["services"] == seed.TINY.services
    assert seeded.counts["runs"] > 0
    per_team = sum(len(TEAM_PERMS_BY_ROLE[r]) for r in ROLE_ORDER)
    assert GroupObjectPermission.objects.count() == per_team * seed.TINY.teams
    User = get_user_model()
    member = User.objects.get(pk=seeded.member_id)
    # The member holds what set_membership would give: the role group's permissions.
    for team in Team.objects.all():
        is_member = Membership.objects.filter(team=team, user=member).exists()
        assert has_team_perm(member, team, "use_team") is is_member
        assert member.groups.filter(name=team.group_name("member")).exists() is is_member
    visible = Resource.objects.for_user(member)
    assert visible.count() == Resource.objects.filter(team_id__in=seeded.member_team_ids).count()
    admin = User.objects.get(pk=seeded.admin_id)
    assert Resource.objects.for_user(admin).count() == seed.TINY.resources
    assert seed.is_seeded(seed.TINY)


def test_queries_per_request_come_out_at_two_sizes_and_the_probe_data_is_rolled_back(
    settings: Any,
) -> None:
    settings.ROOT_URLCONF = "benchmarks.ceiling_urls"  # the ceiling view, as the bench serves it
    seed.seed(seed.TINY)
    before = Resource.objects.count()

    results = queries.measure(grow_by=60)

    assert Resource.objects.count() == before
    by_key = {r.key: r for r in results}
    ceiling = by_key["ceiling"]
    assert ceiling.status_small == ceiling.status_large == 200
    assert ceiling.queries_small == ceiling.queries_large == 0
    for result in results:
        assert result.rows_large >= result.rows_small
        if result.available and result.key != "ceiling":
            assert result.queries_small > 0, result
    member_list = by_key["api_resources_member"]
    assert member_list.rows_large > member_list.rows_small
    rows = summarise_queries(results)
    assert len(rows) == len(results) and all("verdict" in row for row in rows)
