"""Who acts through a surface: the type the kernel and every app's actions take for it."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

# Who acts through a surface (`request.user`, a command's `--as`, a service account's user).
Person = User | AnonymousUser


def signed_in(actor: Person | None) -> User | None:
    """The signed-in user acting (None: nobody signed in)."""
    return actor if isinstance(actor, User) else None


__all__ = ["Person", "signed_in"]
