"""Temporary page for portal sections whose app has not landed yet."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def section(title: str) -> Callable[..., HttpResponse]:
    @login_required
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return render(request, "placeholder/coming.html", {"title": title})

    return view
