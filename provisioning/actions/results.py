"""Typed outcomes of actions: what an action did, which every surface renders as is (the
portal, the inbox, the API, admin, `manage.py` and fleets never re-read the resource or
write their own sentence to find out). Each outcome's `message` is written here, once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..choices import ApprovalDecision, ResourceStatus, RunStatus
from ..models import Approval, Resource, Run


@dataclass(frozen=True)
class Decision:
    """A decision on a pending plan (approve, break-glass, reject)."""

    resource: Resource
    plan: Run  # the plan decided on
    approval: Approval  # the recorded decision
    status: ResourceStatus  # the resource's status after it
    apply_run: Run | None = None  # the apply (or destroy) queued, if the decision queued one
    still_needed: int = 0  # approvals the plan still needs (0: none)

    @property
    def queued(self) -> bool:
        return self.apply_run is not None

    @property
    def message(self) -> str:
        """One sentence naming the resource, for messages, admin and the command line."""
        name = self.resource.name
        if self.approval.decision == ApprovalDecision.REJECTED:
            return f"The plan of {name} was rejected; its change was discarded."
        if self.approval.break_glass:
            return f"Break-glass approval of {name} recorded; the apply is queued."
        if self.queued:
            return f"{name} approved; the apply is queued."
        more = f"{self.still_needed} more approval{'' if self.still_needed == 1 else 's'}"
        return f"Approval of {name} recorded; the plan needs {more}."


class PlanPurpose(StrEnum):
    """Why a plan was queued: the action that asked for it."""

    CHANGE = "change"  # new parameters
    UPGRADE = "upgrade"  # another template version
    REPLAN = "replan"
    RETRY = "retry"  # after a failed run
    DESTROY = "destroy"
    RECONCILE = "reconcile"  # back to the declared configuration
    ACCEPT_DRIFT = "accept_drift"  # a refresh-only plan


@dataclass(frozen=True)
class PlanStarted:
    """A plan queued for a resource (a change, an upgrade, a re-plan, a retry, a destroy, a
    reconcile or an accepted drift); it then goes on under the approval policy."""

    resource: Resource
    run: Run  # the plan queued
    status: ResourceStatus  # the resource's status after it (planning, or destroying)
    purpose: PlanPurpose

    @property
    def message(self) -> str:
        name = self.resource.name
        what = {
            PlanPurpose.CHANGE: f"Parameters of {name} changed; a new plan is queued.",
            PlanPurpose.UPGRADE: (
                f"Planning the upgrade of {name} to {self.run.template_version.display}."
            ),
            PlanPurpose.REPLAN: f"A new plan of {name} is queued.",
            PlanPurpose.RETRY: f"{name} is planned again after its failed run.",
            PlanPurpose.DESTROY: f"A destroy plan of {name} is queued.",
            PlanPurpose.RECONCILE: (
                f"A plan of {name} back to its declared configuration is queued; "
                "it is applied like any change."
            ),
            PlanPurpose.ACCEPT_DRIFT: (
                f"A refresh-only plan of {name} is queued: once applied, the real values "
                "are the record."
            ),
        }
        return what[self.purpose]


@dataclass(frozen=True)
class Withdrawn:
    """The team withdrew its proposed change before it was decided (it is discarded)."""

    resource: Resource
    status: ResourceStatus  # provisioned (what exists stays), or rejected (a first request)

    @property
    def message(self) -> str:
        return f"The proposed change of {self.resource.name} was withdrawn."


@dataclass(frozen=True)
class PolicyOverridden:
    """A platform admin let a plan past the overridable policies it fails."""

    resource: Resource
    plan: Run  # the plan let through
    status: ResourceStatus  # awaiting approval, or applying
    apply_run: Run | None = None  # the apply queued when the plan needs no approval

    @property
    def queued(self) -> bool:
        return self.apply_run is not None

    @property
    def message(self) -> str:
        then = "the apply is queued." if self.queued else "the plan now awaits its approvals."
        return f"Policy failure of {self.resource.name} overridden; {then}"


@dataclass(frozen=True)
class HeldPlanReleased:
    """A held plan let go on: its apply queued, into the approvals inbox, or (its approval
    window closed while held) planned again."""

    resource: Resource
    plan: Run  # the held plan
    status: ResourceStatus  # the resource's status after it
    apply_run: Run | None = None  # the apply queued, if the plan needs no approval
    replanned: Run | None = None  # the new plan, when the held one had expired

    @property
    def run(self) -> Run:
        """The run that carries the change on: the apply, the new plan, or the held plan
        now awaiting approval."""
        return self.apply_run or self.replanned or self.plan

    @property
    def awaits_approval(self) -> bool:
        return self.apply_run is None and self.replanned is None

    @property
    def message(self) -> str:
        name = self.resource.name
        if self.apply_run is not None:
            return f"The held plan of {name} was released; the apply is queued."
        if self.replanned is not None:
            return f"The held plan of {name} expired while held; {name} is planned again."
        return f"The held plan of {name} was released; it awaits approval."


@dataclass(frozen=True)
class HeldPlanDiscarded:
    """A held plan dropped: the resource is what it was, nothing applied."""

    resource: Resource
    plan: Run  # the plan discarded
    status: ResourceStatus  # the resource's status after it

    @property
    def message(self) -> str:
        return f"The held plan of {self.resource.name} was discarded; nothing was applied."


@dataclass(frozen=True)
class RunStopped:
    """A cancelled run: a queued one ends at once (its proposal discarded), a running one is
    asked to stop and ends as cancelled at Terraform's next safe point."""

    resource: Resource
    run: Run
    status: RunStatus  # the run's status after it: cancelled, or still running

    @property
    def stopped(self) -> bool:
        """Whether the run ended at once (False: a running run was asked to stop)."""
        return self.status == RunStatus.CANCELLED

    @property
    def message(self) -> str:
        what = self.run.get_kind_display().lower()
        if self.stopped:
            return f"The queued {what} run {self.run.pk} of {self.resource.name} was cancelled."
        return (
            f"Cancellation requested: the {what} run {self.run.pk} of {self.resource.name} "
            "stops at its next safe point."
        )


@dataclass(frozen=True)
class Unlocked:
    """A stale lock cleared: what was removed (the platform's lock and the run it ended,
    Terraform's state lock file)."""

    resource: Resource
    platform_lock: bool  # the platform's run lock was there
    ended_run: Run | None  # the run the unlock ended as failed, if any
    state_lock: bool  # Terraform's state lock file was there

    @property
    def removed(self) -> dict[str, bool | int | None]:
        """What was removed, as recorded in the audit log."""
        return {
            "platform_lock": self.platform_lock,
            "ended_run": self.ended_run.pk if self.ended_run is not None else None,
            "state_lock": self.state_lock,
        }

    @property
    def removed_any(self) -> bool:
        return self.platform_lock or self.ended_run is not None or self.state_lock

    @property
    def message(self) -> str:
        parts = []
        if self.platform_lock:
            parts.append("the platform's run lock")
        if self.ended_run is not None:
            parts.append(f"run {self.ended_run.pk} (ended as failed)")
        if self.state_lock:
            parts.append("Terraform's state lock file")
        if not parts:
            return f"{self.resource} was not locked; nothing was removed."
        return f"Unlocked {self.resource}: removed {', '.join(parts)}."


@dataclass(frozen=True)
class Requested:
    """A new resource requested: recorded `pending` with its first plan queued; or, a repeat
    of an idempotency key, the resource the first request made (nothing queued again). Whether
    the plan needs approval is the plan's to say (its requirement), once it is made."""

    resource: Resource
    run: Run | None  # the first plan this request queued (None: a replay)

    @property
    def created(self) -> bool:
        """Whether this call made the resource (False: it repeated an idempotency key)."""
        return self.run is not None

    @property
    def message(self) -> str:
        name = self.resource.name
        if not self.created:
            return f"{name} was requested already with this idempotency key; nothing was queued."
        return f"Requested {name} from {self.resource.template.title}; its first plan is queued."


@dataclass(frozen=True)
class Archived:
    """A failed or rejected request put away: out of the lists, kept in audit, reachable."""

    resource: Resource

    @property
    def message(self) -> str:
        return (
            f"{self.resource.name} is archived: it is hidden from the lists "
            "(Show archived finds it)."
        )


@dataclass(frozen=True)
class Unarchived:
    """An archived resource taken back into the lists (its status as it was)."""

    resource: Resource

    @property
    def message(self) -> str:
        return f"{self.resource.name} is back in the lists."
