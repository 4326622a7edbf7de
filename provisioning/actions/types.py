"""The types actions take for who acts: a person through a surface, or the platform."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from ..causes import Cause

# Who acts through a surface (`request.user`, a command's `--as`, a service account's user).
Person = User | AnonymousUser
# Who starts a plan: the person acting, or the `Cause` of one the platform starts.
Starter = Person | Cause


def signed_in(actor: Person | None) -> User | None:
    """The signed-in user acting (None: nobody signed in)."""
    return actor if isinstance(actor, User) else None


__all__ = ["Cause", "Person", "Starter", "signed_in"]
