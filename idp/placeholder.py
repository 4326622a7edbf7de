"""Temporary page for portal sections whose app has not landed yet."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def section(title: str):  # type: ignore[no-untyped-def]
    @login_required
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return render(request, "placeholder/coming.html", {"title": title})

    return view
