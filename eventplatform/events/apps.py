import os

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "eventplatform.events"
    label = "events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # health declares its event type; after every migrate, settings_cache gives the
        # operators' settings a new version.
        from . import health, settings_cache, supervisor  # noqa: F401
        from .realtime import revocation  # noqa: F401  (open sockets follow revoked access)

        # A worker of a cluster that `run_workers` supervises reports its progress to it.
        if os.environ.get(supervisor.CLUSTER_ID_VARIABLE):
            supervisor.count_tasks()
