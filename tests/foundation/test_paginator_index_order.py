"""`idp.paginator.in_index_order`: the first page of a list read with PostgreSQL's sorting
off for that one query, the same rows in the same order, and the setting back as it was for
the rest of the request's transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from idp.models import Team
from idp.paginator import CountCachingPaginator, in_index_order
from tests.utils import need

pytestmark = pytest.mark.django_db


def _enable_sort() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_sort")
        return str(cursor.fetchone()[0])


def test_the_same_rows_and_the_setting_restored_inside_a_transaction(make_team: Any) -> None:
    need(connection.vendor == "postgresql", "a PostgreSQL planner setting (DATABASE_URL)")
    for slug in ("c-team", "a-team", "b-team"):
        make_team(slug)
    ordered = Team.objects.order_by("slug").values_list("slug", flat=True)[:2]
    with transaction.atomic():  # as inside a request's transaction
        assert in_index_order(ordered) == ["a-team", "b-team"]
        assert _enable_sort() == "on"


def test_only_the_first_page_is_read_in_index_order(make_team: Any, monkeypatch: Any) -> None:
    read: list[int] = []

    def spy(queryset: Any) -> list[Any]:
        read.append(queryset.query.low_mark)
        return list(queryset)

    monkeypatch.setattr("idp.paginator.in_index_order", spy)
    for slug in ("a-team", "b-team", "c-team"):
        make_team(slug)
    teams = Team.objects.order_by("slug").values_list("slug", flat=True)
    paginator = CountCachingPaginator(teams, 2, first_page_in_order=True)
    assert list(paginator.get_page(1)) == ["a-team", "b-team"]
    assert list(paginator.get_page(2)) == ["c-team"]
    assert read == [0]  # the second page was sorted as usual
