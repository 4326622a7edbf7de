"""Monitoring operations: metrics, alarms, costs, budgets, analytics and right-sizing.

Views, the API, management commands, tasks and other apps call these functions.
"""

from .alarms import on_resource_destroyed, on_resource_provisioned, refresh_alarm_states
from .budgets import delete_budget, evaluate_budget, evaluate_budgets, save_budget
from .costs import collect_costs, forecast_month, month_to_date
from .metrics import collect_metrics

__all__ = [
    "collect_costs",
    "collect_metrics",
    "delete_budget",
    "evaluate_budget",
    "evaluate_budgets",
    "forecast_month",
    "month_to_date",
    "on_resource_destroyed",
    "on_resource_provisioned",
    "refresh_alarm_states",
    "save_budget",
]
