import os

from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "eventplatform.events"
    label = "events"
    verbose_name = "Events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import health, supervisor  # noqa: F401  (health declares its event type)
        from .realtime import revocation  # noqa: F401  (open sockets follow revoked access)

        # A worker of a cluster that `run_workers` supervises reports its progress to it.
        if os.environ.get(supervisor.CLUSTER_ID_VARIABLE):
            supervisor.count_tasks()
