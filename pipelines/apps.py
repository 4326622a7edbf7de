from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines"

    def ready(self) -> None:
        # The delivery's job kind registers with idp.jobs (housekeeping sweeps and reaps it).
        # Pushed tags (and branch channels) sync the template sources of that repository.
        from catalog.services import sources

        from . import services  # noqa: F401
        from .deployments import job  # noqa: F401  (the deployment's job kind)
        from .webhooks import on_push

        on_push(sources.push_received)
