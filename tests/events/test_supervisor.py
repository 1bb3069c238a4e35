"""The supervisor's bookkeeping inside a cluster's workers."""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from eventplatform.events import supervisor
from tests.receivers import free_port


class UnreachableBroker:
    connection = redis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))


def test_a_worker_outlives_redis_going_away_around_its_task(monkeypatch):
    # django-q2 sends these signals outside its error handling: an error would kill the
    # worker, and its supervisor would kill the whole cluster with its reactions in flight.
    monkeypatch.setattr(supervisor, "broker", UnreachableBroker)
    monkeypatch.setenv(supervisor.CLUSTER_ID_VARIABLE, "cluster")

    supervisor.count_started(sender="django_q")
    supervisor.count_finished(sender="django_q")
