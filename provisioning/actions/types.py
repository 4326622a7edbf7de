"""The type actions take for who starts a plan: a person through a surface, or the platform."""

from __future__ import annotations

from idp.actors import Person

from ..causes import Cause

# Who starts a plan: the person acting, or the `Cause` of one the platform starts.
Starter = Person | Cause

__all__ = ["Starter"]
