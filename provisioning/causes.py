"""Who caused a run: the author chain that four eyes counts.

A person acting starts a run in their own name. The platform starts runs too: a dependant's
re-plan after an upstream's output changed, a drift reconcile, an expiry destroy, the apply
of a plan, a new plan after a stale one was refused, a scheduled drift check. Each says why
and on whose behalf: the people whose change caused it (`authors`) and the run whose outcome
did (`run`). `approval_policy.touchers` counts the starter and authors of every plan of a
pending change, so nobody decides on a change they caused, directly or through another
resource. `dispatch.new_run` takes nothing else: a run without a person or a Cause is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .choices import RunKind
from .models import Run


@dataclass(frozen=True)
class Cause:
    """Why a run is started and on whose behalf (`by`: the person acting, if one is)."""

    reason: str
    authors: frozenset[int] = field(default_factory=frozenset)
    run: Run | None = None
    by: Any = None

    @classmethod
    def of(cls, actor: Any) -> Cause:
        """The cause of a run `actor` starts: a signed-in person, or a Cause as it is."""
        if isinstance(actor, Cause):
            return actor
        if getattr(actor, "is_authenticated", False):
            return cls("", by=actor)
        # A new call site that forgets who caused its run fails here, not in four eyes.
        raise TypeError(
            f"A run must say who caused it: pass the person acting or a Cause, not {actor!r}"
        )

    @classmethod
    def of_run(cls, run: Run, reason: str, *, also: Iterable[int] = ()) -> Cause:
        """The platform acting on a run's outcome: it carries that run's chain on."""
        return cls(reason, frozenset(chain_of(run)) | frozenset(also), run)

    @property
    def person(self) -> Any:
        """The person acting (the run's `created_by`, the audit's actor), else None."""
        return self.by if getattr(self.by, "is_authenticated", False) else None

    def fields(self) -> dict[str, Any]:
        """The run's fields that record this cause."""
        return {
            "created_by": self.person,
            "authors": sorted(self.authors),
            "caused_by": self.run,
            "cause": self.reason[:200],
        }


def chain_of(run: Run) -> set[int]:
    """Who caused `run`: its authors, and its starter unless it is an apply (an apply is
    started by whoever approved the plan, who decided on the change and did not make it)."""
    ids = {int(a) for a in run.authors or []}
    applies = run.kind in (RunKind.APPLY, RunKind.DESTROY)
    if run.created_by_id and not applies:
        ids.add(run.created_by_id)
    if applies and not ids and run.plan_run is not None:
        return chain_of(run.plan_run)  # an apply queued before applies carried their chain
    return ids
