from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Policies"

    def ready(self) -> None:
        from . import hooks, signals  # noqa: F401  (signals connects the worker_ready handler)

        hooks.register()
