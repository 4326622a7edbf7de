from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from ..paginator import CountCachingPaginator
from .fields import query_value

PAGE_SIZE_ERROR = "Give a whole number from 1 (larger sizes are cut to {max})."


class StandardPagination(PageNumberPagination):
    django_paginator_class = CountCachingPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int | None:
        """A page_size that is not a positive whole number is bad input (400), not the default:
        DRF's quiet fallback answered `page_size=null` as if it were valid."""
        raw = query_value(request, self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({"page_size": [PAGE_SIZE_ERROR.format(max=self.max_page_size)]})
        return min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        """The page asked for: given twice or empty is a 400 (the schema types one number); a
        page that is no number or past the end stays DRF's 404."""
        return query_value(request, self.page_query_param) or 1

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in {self.page_query_param, self.page_size_query_param}:
                parameter["schema"]["minimum"] = 1
        return parameters
