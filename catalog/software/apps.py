from django.apps import AppConfig


class SoftwareCatalogConfig(AppConfig):
    """The software catalog (entities, discovery, docs, scorecards): above provisioning,
    pipelines and monitoring. Its models live with the registry's in `catalog.models`."""

    name = "catalog.software"
    label = "software_catalog"
    verbose_name = "Software catalog"

    def ready(self) -> None:
        from . import hooks, signals  # noqa: F401  (connects the worker_ready handler)

        hooks.register()
        self._listen_to_pushes()
        # Their job kinds (docs builds, scans) register with idp.jobs on import.
        from .services import discovery, docs  # noqa: F401

    def _listen_to_pushes(self) -> None:
        """GitHub pushes to a repository a location covers queue its scan."""
        from pipelines.webhooks import on_push

        from .services.discovery import push_received

        on_push(push_received)
