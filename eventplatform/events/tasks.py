"""Queue entry points: load by id, call the service, nothing else."""

from . import delivery, retention


def run_delivery(delivery_id: int) -> str:
    return delivery.execute(delivery_id)


def prune_events() -> str:
    return retention.prune_expired()
