from django.apps import AppConfig


class IdpConfig(AppConfig):
    name = "idp"
    verbose_name = "Platform"

    def ready(self) -> None:
        from . import signals  # noqa: F401
        from .ops import deploy_checks  # noqa: F401 - registers `check --deploy` checks
