"""Pages of long lists whose total stays cheap: exact while small, briefly cached when large."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.cache import cache
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Up to this many rows a list is counted exactly on every request (a LIMITed count is cheap);
# past it, the count of the same query is reused for COUNT_TTL seconds: counting 100k rows
# costs PostgreSQL more than the rest of the page.
EXACT_COUNT_LIMIT = 1000
COUNT_TTL = 60


def list_count(queryset: Any) -> tuple[int, bool]:
    """The rows of `queryset` and whether that is exact (else at most COUNT_TTL seconds old)."""
    if not isinstance(queryset, QuerySet):
        return len(queryset), True
    unordered = queryset.order_by().values("pk")  # no annotations or joins of the rows
    capped = unordered[: EXACT_COUNT_LIMIT + 1].count()
    if capped <= EXACT_COUNT_LIMIT:
        return capped, True
    sql, params = unordered.query.sql_with_params()
    key = "idp:count:" + hashlib.sha256(f"{queryset.db}|{sql}|{params!r}".encode()).hexdigest()
    count = cache.get(key)  # None too while Redis is down (a miss): then a full count
    if count is None:
        count = unordered.count()
        cache.set(key, count, COUNT_TTL)
        return int(count), True
    return int(count), False


class _Page(Page):
    has_more = False

    def has_next(self) -> bool:
        return self.has_more


class CountCachingPaginator(Paginator):
    """Django's paginator with `list_count` for the total.

    Whether a next page exists is read from the rows (one more than a page is fetched), and
    a page past a cached total is served while it has rows, so a count a minute old never
    hides or cuts a row.
    """

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return list_count(self.object_list)

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
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
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
