from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        # Explicit hooks into provisioning (its budget gate and lifecycle listener), not
        # model signals: provisioning stays unaware of monitoring.
        from . import budget, log_handler

        budget.register()
        log_handler.connect_celery()
        # The collections' job kind registers with idp.jobs (housekeeping reaps lost passes).
        from .services import collections  # noqa: F401
