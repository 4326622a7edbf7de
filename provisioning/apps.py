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
        # The approvals badge, cached, is recounted when what awaits a decision changes.
        from .actions import inbox

        inbox.register()
        # The template registry (below) flags live resources pinned to a withdrawn version.
        from catalog.services import sources

        from .choices import RESOURCE_GONE
        from .models import Resource

        sources.on_live_resources(lambda: Resource.objects.exclude(status__in=RESOURCE_GONE))
        # Runs are a job kind of idp/jobs: sent, swept, beaten and reaped by the framework.
        from idp.jobs.registry import register

        from .engine.claim import RUN_JOB

        register(RUN_JOB)
