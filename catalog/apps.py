from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from . import hooks, signals  # noqa: F401  (connects the worker_ready handler)

        hooks.register()
        self._listen_to_pushes()
        # Their job kinds (docs builds, scans, syncs) register with idp.jobs on import.
        from .services import discovery, docs, sources  # noqa: F401

    def _listen_to_pushes(self) -> None:
        """GitHub pushes to a repository a location covers queue its scan."""
        from pipelines.webhooks import on_push

        from .services import sources
        from .services.discovery import push_received

        on_push(push_received)
        # Pushed tags (and branch channels) sync the template sources of that repository.
        on_push(sources.push_received)
