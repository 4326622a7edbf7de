from django.apps import AppConfig


class WiringConfig(AppConfig):
    """The project's wiring: settings, urls, the Celery app, the demo and the commands that
    start the platform (`run_platform`) and seed it (`seed_demo`). It may import every app;
    no app imports it (the `apps` contract in `.importlinter`)."""

    name = "config"
    verbose_name = "Wiring"
