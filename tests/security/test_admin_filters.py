"""The admin's "By team" filter lists only the teams a staff member belongs to.

Staff who are not platform admins once saw every team's slug in the filter of the catalog,
monitoring and pipelines changelists (and, where the list was not narrowed, the rows too).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from catalog.models import Service, Template
from idp import services
from idp.choices import Role
from idp.models import Team
from monitoring.models import Alert, Budget, CostRecord
from pipelines.models import Pipeline

OTHER = "orion-secret-team"

CHANGELISTS = [
    "/admin/catalog/service/",
    "/admin/catalog/template/",
    "/admin/monitoring/budget/",
    "/admin/monitoring/alert/",
    "/admin/monitoring/costrecord/",
    "/admin/monitoring/metricsample/",
    "/admin/monitoring/alarmstate/",
    "/admin/pipelines/pipeline/",
]
# Templates are the shared catalog: every user sees them and their owner.
PUBLIC_ROWS = {"/admin/catalog/template/"}


def _filters(page: str) -> str:
    """The changelist's filter sidebar."""
    assert 'id="changelist-filter"' in page
    return page.split('id="changelist-filter"', 1)[1].split("</nav>", 1)[0]


def _seed(team: Team, slug: str) -> None:
    service = Service.objects.create(team=team, slug=f"{slug}-api", name=f"{slug} api")
    Template.objects.create(slug=f"{slug}-tpl", title=f"{slug} tpl", owner_team=team)
    budget = Budget.objects.create(team=team, monthly_amount=Decimal("10"))
    Alert.objects.create(
        team=team,
        budget=budget,
        threshold=80,
        kind="actual",
        period="2026-11",
        amount=Decimal("9"),
        budget_amount=Decimal("10"),
        message=f"{slug} alert",
    )
    CostRecord.objects.create(
        team=team,
        service_slug=f"{slug}-api",
        environment_slug="dev",
        date=date(2026, 11, 1),
        amount=Decimal("1"),
    )
    Pipeline.objects.create(
        service=service,
        slug=f"{slug}-ci",
        template="python",
        workflow_name=f"{slug} ci",
        workflow_path=f".github/workflows/{slug}.yml",
        repository=f"acme/{slug}",
    )


@pytest.fixture
def seeded(teams: dict[str, Team], make_team: Any) -> Team:
    other = make_team(OTHER, name="Orion Secret Team")
    _seed(teams["payments"], "payments")
    _seed(other, "orion")
    return other


def _may_view(user: Any) -> Any:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=["catalog", "monitoring", "pipelines"],
            codename__startswith="view_",
        )
    )
    return user


@pytest.fixture
def staff_member(make_user: Any, make_team: Any, teams: dict[str, Team]) -> Any:
    """Staff with view rights on the models, in payments and ledger (two teams, so Django
    shows the filter at all)."""
    user = make_user("stan", team=teams["payments"], role=Role.MAINTAINER)
    services.set_membership(make_team("ledger"), user, Role.MEMBER)
    return _may_view(user)


@pytest.mark.parametrize("url", CHANGELISTS)
def test_staff_see_only_their_teams_in_the_team_filter(
    client_as: Any, staff_member: Any, seeded: Team, url: str
) -> None:
    response = client_as(staff_member).get(url)
    assert response.status_code == 200
    page = response.content.decode()
    filters = _filters(page)
    assert "By team" in filters or "By owner team" in filters
    assert "payments" in filters and "ledger" in filters
    assert OTHER not in filters and "search" not in filters
    if url not in PUBLIC_ROWS:
        # Nor do another team's rows show in the list.
        assert "orion" not in page.lower()


@pytest.mark.parametrize("url", CHANGELISTS)
def test_platform_admins_see_every_team(
    client_as: Any, platform_admin: Any, seeded: Team, url: str
) -> None:
    response = client_as(_may_view(platform_admin)).get(url)
    assert response.status_code == 200
    filters = _filters(response.content.decode())
    assert "payments" in filters and OTHER in filters


def test_choosing_another_teams_id_by_hand_shows_nothing(
    client_as: Any, staff_member: Any, seeded: Team
) -> None:
    response = client_as(staff_member).get(f"/admin/catalog/service/?team__id__exact={seeded.pk}")
    page = response.content.decode()
    assert "orion" not in page.lower()
