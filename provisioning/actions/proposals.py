"""The current configuration and the proposed change (`provisioning.proposals`), for actions."""

from ..proposals import (
    HEAVY,
    Config,
    adopt_fields,
    base,
    changed_names,
    current,
    discard_fields,
    last_run_id,
    latest_plan,
    pending_plan,
    plan_awaiting_decision,
    proposed,
    unresolved_loss,
)

__all__ = [
    "HEAVY",
    "Config",
    "adopt_fields",
    "base",
    "changed_names",
    "current",
    "discard_fields",
    "last_run_id",
    "latest_plan",
    "pending_plan",
    "plan_awaiting_decision",
    "proposed",
    "unresolved_loss",
]
