"""Grants kept in a shared cache across requests: every way of changing them drops them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm, remove_perm

from idp import rbac, services
from idp.choices import Role
from tests.utils import assert_error, assert_ok


def fresh(user: Any) -> Any:
    """The user as the next request loads it (no grants on the object)."""
    return type(user).objects.get(pk=user.pk)


def test_local_memory_cache_is_never_shared(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert rbac.shared_cache() is None


def test_grants_come_from_the_cache_on_the_next_request(
    shared_cache: None, alice: Any, teams: dict
) -> None:
    assert rbac.team_ids(fresh(alice)) == [teams["payments"].pk]
    with CaptureQueriesContext(connection) as ctx:
        user = fresh(alice)
        assert rbac.team_ids(user) == [teams["payments"].pk]
        assert rbac.has_team_perm(user, teams["payments"], "use_team")
        assert not rbac.has_team_perm(user, teams["payments"], "manage_team")
        assert not rbac.is_platform_admin(user)
    assert len(ctx.captured_queries) == 1  # loading the user; the grants were cached


def test_membership_changes_drop_cached_grants(
    shared_cache: None,
    alice: Any,
    teams: dict,
    django_capture_on_commit_callbacks: Any,
) -> None:
    payments, search = teams["payments"], teams["search"]
    assert rbac.team_ids(fresh(alice)) == [payments.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.set_membership(search, fresh(alice), Role.VIEWER)
    assert rbac.team_ids(fresh(alice)) == sorted([payments.pk, search.pk])
    assert not rbac.has_team_perm(fresh(alice), search, "use_team")
    with django_capture_on_commit_callbacks(execute=True):
        services.set_membership(search, fresh(alice), Role.MEMBER)
    assert rbac.has_team_perm(fresh(alice), search, "use_team")
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_membership(payments, fresh(alice))
    assert rbac.team_ids(fresh(alice)) == [search.pk]
    with django_capture_on_commit_callbacks(execute=True):
        services.set_platform_admin(fresh(alice), True)
    assert rbac.is_platform_admin(fresh(alice)) and rbac.team_ids(fresh(alice)) is None


def test_changes_outside_the_services_drop_cached_grants(
    shared_cache: None, alice: Any, teams: dict, django_capture_on_commit_callbacks: Any
) -> None:
    """Django admin and guardian's helpers change groups and permissions directly."""
    payments, search = teams["payments"], teams["search"]
    assert rbac.team_ids(fresh(alice)) == [payments.pk]
    viewers = Group.objects.get(name=search.group_name(Role.VIEWER))
    with django_capture_on_commit_callbacks(execute=True):
        fresh(alice).groups.add(viewers)
    assert search.pk in rbac.team_ids(fresh(alice))
    with django_capture_on_commit_callbacks(execute=True):
        remove_perm("view_team", viewers, search)
    assert rbac.team_ids(fresh(alice)) == [payments.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assign_perm("view_team", viewers, search)
    assert search.pk in rbac.team_ids(fresh(alice))
    with django_capture_on_commit_callbacks(execute=True):
        fresh(alice).groups.clear()
    assert rbac.team_ids(fresh(alice)) == []


def test_removed_member_gets_404_on_the_next_request(
    shared_cache: None,
    api_as: Any,
    alice: Any,
    teams: dict,
    django_capture_on_commit_callbacks: Any,
) -> None:
    api = api_as(alice)
    assert_ok(api.get("/api/v1/teams/payments/"))
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_membership(teams["payments"], fresh(alice))
    assert_error(api.get("/api/v1/teams/payments/"), 404)


def test_a_cache_outage_falls_back_to_the_database(
    settings: Any, client_as: Any, alice: Any, teams: dict, caplog: Any
) -> None:
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"IGNORE_EXCEPTIONS": True},  # as config/settings/base.py configures it
        }
    }
    assert rbac.shared_cache() is not None
    assert rbac.team_ids(fresh(alice)) == [teams["payments"].pk]
    assert "Exception ignored" in caplog.text  # django-redis logs each outage it absorbs
    assert client_as(alice).get("/teams/payments/").status_code == 200
