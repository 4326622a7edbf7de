from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Provisioning"

    def ready(self) -> None:
        # E-mail and webhook news follow the lifecycle through its listener, not signals.
        from . import notifications

        notifications.register()
        # Dependants follow their upstreams' moves (re-plans, waiting plans) the same way.
        from .actions import dependencies

        dependencies.register()
