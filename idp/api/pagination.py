from rest_framework.pagination import PageNumberPagination

from ..paginator import CountCachingPaginator


class StandardPagination(PageNumberPagination):
    django_paginator_class = CountCachingPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
