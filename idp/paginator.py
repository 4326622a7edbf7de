"""Pages of long lists whose total stays cheap: exact while small, briefly cached when large."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connections, transaction
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Up to this many rows a list is counted exactly on every request (a LIMITed count is cheap);
# past it, the count of the same query is reused for COUNT_TTL seconds: counting 100k rows
# costs PostgreSQL more than the rest of the page.
EXACT_COUNT_LIMIT = 1000
COUNT_TTL = 60


def list_count(
    queryset: Any, *, exact_limit: int | None = None, key: str | None = None
) -> tuple[int, bool]:
    """The rows of `queryset` and whether that is exact (else at most COUNT_TTL seconds old).

    The cached count is keyed by the query's SQL, or by `key` when the SQL changes on every
    request (a query comparing with the current time)."""
    if not isinstance(queryset, QuerySet):
        return len(queryset), True
    if exact_limit is None:
        exact_limit = EXACT_COUNT_LIMIT
    unordered = queryset.order_by().values("pk")  # no annotations or joins of the rows
    capped = unordered[: exact_limit + 1].count()
    if capped <= exact_limit:
        return capped, True
    if key is None:
        sql, params = unordered.query.sql_with_params()
        key = f"{queryset.db}|{sql}|{params!r}"
    key = "idp:count:" + hashlib.sha256(key.encode()).hexdigest()
    count = cache.get(key)  # None too while Redis is down (a miss): then a full count
    if count is None:
        count = unordered.count()
        cache.set(key, count, COUNT_TTL)
        return int(count), True
    return int(count), False


def in_index_order(queryset: Any) -> list[Any]:
    """The rows of an ordered, LIMITed queryset, read with PostgreSQL's sorting turned off
    for that one query, so the planner walks an index in the list's order and stops at the
    limit. For the first page of a list filtered by many conditions, whose matching rows the
    planner underestimates (it would then filter them all and sort: 5,000 plans awaiting a
    decision for the first 50); later pages are better sorted. Other databases: as is."""
    if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
        return list(queryset)
    connection = connections[queryset.db]
    outer = connection.in_atomic_block
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        rows = list(queryset)
        if outer:  # SET LOCAL lasts until the outer transaction ends: undone here
            cursor.execute("SET LOCAL enable_sort TO DEFAULT")
    return rows


class _Page(Page):
    has_more = False

    def has_next(self) -> bool:
        return self.has_more


class CountCachingPaginator(Paginator):
    """Django's paginator with `list_count` for the total.

    Whether a next page exists is read from the rows (one more than a page is fetched), and
    a page past a cached total is served while it has rows, so a count a minute old never
    hides or cuts a row. `exact_limit` and `count_key` are `list_count`'s; with
    `first_page_in_order`, the first page is read by `in_index_order`.
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        exact_limit: int | None = None,
        count_key: str | None = None,
        first_page_in_order: bool = False,
    ) -> None:
        super().__init__(object_list, per_page)
        self.exact_limit, self.count_key = exact_limit, count_key
        self.first_page_in_order = first_page_in_order

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return list_count(self.object_list, exact_limit=self.exact_limit, key=self.count_key)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_exact(self) -> bool:
        return self._counted[1]

    def validate_number(self, number: Any) -> int:
        try:
            return super().validate_number(number)
        except EmptyPage:
            if self.count_exact or int(number) < 1:
                raise
            return int(number)  # past a cached total: the rows decide, in page()

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows_of = self.object_list[bottom : bottom + self.per_page + 1]
        first = self.first_page_in_order and bottom == 0
        rows = in_index_order(rows_of) if first else list(rows_of)
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        page = self._get_page(rows[: self.per_page], number, self)
        page.has_more = len(rows) > self.per_page
        return page

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past a cached total that has since shrunk
            return self.page(1)

    def _get_page(self, *args: Any, **kwargs: Any) -> _Page:
        return _Page(*args, **kwargs)
