from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "pipelines"
    verbose_name = "Pipelines"

    def ready(self) -> None:
        # The delivery's job kind registers with idp.jobs (housekeeping sweeps and reaps it).
        from . import services  # noqa: F401
