"""SSO pages of the portal: the "no team yet" page, refusals, and the stable SP metadata URL."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.socialaccount.providers.saml.views import metadata as saml_metadata
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from idp.conf import setting


@login_required
def no_team(request: HttpRequest) -> HttpResponse:
    """Signed in, but no IdP group maps to a team: say so, and whom to ask."""
    return render(
        request,
        "idp/sso_no_team.html",
        {"help_contact": setting("IDP_SSO_HELP_CONTACT"), "memberships": []},
    )


def refuse_offsite_next(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A sign-in whose `next=` leaves the portal is refused with a page that says why,
    instead of silently dropping it (an off-site next is the shape of a phishing link)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        target = request.POST.get("next") or request.GET.get("next")
        if target and not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return render(
                request,
                "idp/sso_refused.html",
                {
                    "reason": "The sign-in link points to another site after signing in.",
                    "detail": "Only addresses of this portal are allowed as the page to "
                    "return to. Start again from the sign-in page.",
                },
                status=400,
            )
        return view(request, *args, **kwargs)

    return wrapped


def sp_metadata(request: HttpRequest) -> HttpResponse:
    """The SAML service provider metadata at a stable address, whatever the app's slug."""
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("saml", {}).get("APPS", [])
    if not apps:
        raise Http404("SAML is not configured (IDP_SAML_IDP_ENTITY_ID)")
    response: HttpResponse = saml_metadata(request, organization_slug=apps[0]["client_id"])
    return response


def refuse_unexpected_answer(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An IdP answer this browser did not ask for (replayed, or started elsewhere) is
    refused by allauth with PermissionDenied; show why instead of a bare 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied:
            return render(
                request,
                "idp/sso_refused.html",
                {
                    "reason": "This sign-in answer was already used, or was not started "
                    "from this browser.",
                    "detail": "Each answer of the identity provider is accepted once, by "
                    "the browser that asked for it. Start again from the sign-in page.",
                },
                status=403,
            )

    return wrapped
