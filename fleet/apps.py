from django.apps import AppConfig


class FleetConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "fleet"
    verbose_name = "Fleet upgrades"

    def ready(self) -> None:
        # A resource of an active fleet moved, or its held plan is ready: nudge the driver.
        from provisioning import lifecycle
        from provisioning.actions import holds

        from .hooks import nudge_on_plan_held, nudge_on_resource_moved

        lifecycle.on_resource_moved(nudge_on_resource_moved)
        holds.on_plan_held(nudge_on_plan_held)
        # The driver's job kind registers with idp.jobs (housekeeping drives fleets at work).
        from .actions import nudge  # noqa: F401
