from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The template registry (templates, versions, sources, parameters) and every catalog
    model; the software catalog's logic is the `catalog.software` app."""

    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (connects the worker_ready handler)

        # The template sources' job kind (syncs) registers with idp.jobs on import.
        from .services import sources  # noqa: F401
