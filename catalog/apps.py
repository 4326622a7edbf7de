from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from . import hooks, signals  # noqa: F401  (connects the worker_ready handler)

        hooks.register()
