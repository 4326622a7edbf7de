"""The workflow: what happens next to a resource, decided in one place.

Given the resource, an event and the facts, the workflow says the next step: the status
move, the fields written with it, and what to do next (queue an apply, await approval, hold,
adopt the proposal, plan again to find out what is there). The deciders (`after_plan`,
`gate`, `after_stop`, `after_loss`) are pure and table-driven; the functions beside them
read the facts and carry a step out through `provisioning.lifecycle`, whose only caller this
package is. The engine hands its outcomes here (it never decides), and the actions call here
after they resolved objects and checked permission. One module per event:

| event (who reports it)                    | module      | entry points                      |
|-------------------------------------------|-------------|-----------------------------------|
| requested / change, upgrade, re-plan or   | `requested` | `queue_plan`, `run_started`       |
| destroy asked (actions); plan started     |             |                                   |
| (claim)                                   |             |                                   |
| plan finished (engine)                    | `planned`   | `plan_finished`; decider          |
|                                           |             | `after_plan`                      |
| plan past its checks: released from a     | `gated`     | `advance`, `queue_apply`; decider |
| hold, policy overridden or passing again  |             | `gate`                            |
| (actions, fleet)                          |             |                                   |
| approved / break-glass; rejected,         | `decided`   | `approved`, `proposal_ended`,     |
| withdrawn, expired; policy failed again;  |             | `policy_failed_again`,            |
| held plan dropped (actions, fleet)        |             | `held_plan_dropped`               |
| apply refused (engine)                    | `refused`   | `apply_refusal`, `plan_refused`   |
| apply finished; state not stored; state   | `applied`   | `apply_finished`, `state_kept`,   |
| pushed (engine, commands)                 |             | `state_pushed`                    |
| run stopped: failed, cancelled, unlocked  | `stopped`   | `run_stopped`, `run_cancelled`,   |
| (engine, claim, actions)                  |             | `settle_after_stop`; decider      |
|                                           |             | `after_stop`                      |
| run lost (reaper)                         | `lost`      | `run_lost`, `refresh_and_plan`,   |
|                                           |             | `carried_on_by`; decider          |
|                                           |             | `after_loss`                      |
| drift found (engine)                      | `drift`     | `drift_checked`, `drift_summary`  |
| may work start now? (actions, workflow)   | `guards`    | `is_busy`, `idle_refusal`,        |
|                                           |             | `drift_refusal`                   |

`steps` holds what they share (`Next`, `Step`, the locked row, a step's move).
`docs/architecture.md` has the table of events, facts and steps. Other layers import from
this package (`from provisioning import workflow`), not from its modules.
"""

from .applied import apply_finished, state_kept, state_pushed
from .decided import approved, held_plan_dropped, policy_failed_again, proposal_ended
from .drift import drift_checked, drift_summary
from .gated import advance, gate, queue_apply
from .guards import drift_refusal, idle_refusal, is_busy
from .lost import Loss, StateVersion, after_loss, carried_on_by, refresh_and_plan, run_lost
from .planned import (
    PlanFacts,
    PlanOutcome,
    after_plan,
    on_plan_held,
    plan_finished,
    policy_counts,
    replaces_or_destroys,
)
from .refused import APPROVAL_EXPIRED, SUPERSEDED, apply_refusal, plan_refused
from .requested import queue_plan, run_started
from .steps import Next, Step
from .stopped import StopFacts, after_stop, run_cancelled, run_stopped, settle_after_stop

__all__ = [
    "APPROVAL_EXPIRED",
    "Loss",
    "Next",
    "PlanFacts",
    "PlanOutcome",
    "SUPERSEDED",
    "StateVersion",
    "Step",
    "StopFacts",
    "advance",
    "after_loss",
    "after_plan",
    "after_stop",
    "apply_finished",
    "apply_refusal",
    "approved",
    "carried_on_by",
    "drift_checked",
    "drift_refusal",
    "drift_summary",
    "gate",
    "held_plan_dropped",
    "idle_refusal",
    "is_busy",
    "on_plan_held",
    "plan_finished",
    "plan_refused",
    "policy_counts",
    "policy_failed_again",
    "proposal_ended",
    "queue_apply",
    "queue_plan",
    "refresh_and_plan",
    "replaces_or_destroys",
    "run_cancelled",
    "run_lost",
    "run_started",
    "run_stopped",
    "settle_after_stop",
    "state_kept",
    "state_pushed",
]
