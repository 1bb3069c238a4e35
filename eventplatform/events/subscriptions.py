"""Handlers: the reactions subscribed to event types.

Each app subscribes its reactions in ``handlers.py``, which the events app imports at start-up::

    @subscribe(TICKET_CREATED, name="support.acknowledgement-email", time_limit=20)
    def send_acknowledgement_email(event: Event) -> None: ...

A handler's name is its identity: deliveries store it and operators see it, so it is given in
code and never derived from where the function lives; moving or renaming the function changes
nothing.

Every subscribed handler gets its own delivery per event, so one failing never holds back another.
A handler whose target the deployment has not configured (``configured=`` answers False: no
Slack URL, say) gets no delivery at all: no row, no task; operators see it as not configured.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from .catalog import EventType
from .conf import event_setting
from .models import WEBHOOK_HANDLER_PREFIX, WebhookSubscription
from .settings_cache import SettingsCache
from .webhooks import deliver_to_subscription


@dataclass(frozen=True)
class RetryPolicy:
    """Seconds to wait before each retry; one attempt plus one per delay, then a dead letter."""

    delays: tuple[float, ...]
    jitter: float = 0.2

    @classmethod
    def default(cls) -> "RetryPolicy":
        return cls(delays=tuple(event_setting("RETRY_SCHEDULE")))

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, attempt: int) -> float | None:
        """Seconds before the next attempt after ``attempt`` failed; None when none is left."""
        if attempt > len(self.delays):
            return None
        base = self.delays[attempt - 1]
        # Jitter spreads retries of many deliveries that failed together (an outage ending).
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable = field(compare=False)
    event_types: frozenset[str]
    retry: RetryPolicy | None = None
    time_limit: float | None = None
    configured: Callable[[], bool] | None = field(default=None, compare=False)

    @property
    def is_configured(self) -> bool:
        return self.configured is None or self.configured()

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.retry or RetryPolicy.default()

    @property
    def seconds_allowed(self) -> float:
        return self.time_limit or event_setting("HANDLER_TIME_LIMIT")


_handlers: dict[str, Handler] = {}


def subscribe(
    *event_types: EventType,
    name: str,
    retry: RetryPolicy | None = None,
    time_limit: float | None = None,
    configured: Callable[[], bool] | None = None,
) -> Callable[[Callable], Callable]:
    """Register the decorated function as the handler ``name`` of each of ``event_types``.

    ``configured``, when given, says whether the deployment configured what the handler needs;
    while it answers False, events get no delivery for this handler.
    """
    if not event_types:
        raise TypeError("subscribe() needs at least one event type.")
    if not name or name.startswith(WEBHOOK_HANDLER_PREFIX):
        raise ValueError(f"{name!r} cannot name a handler.")

    def register(func: Callable) -> Callable:
        if name in _handlers and _handlers[name].func is not func:
            raise ValueError(f"Another function is already subscribed as {name!r}.")
        _handlers[name] = Handler(
            name=name,
            func=func,
            event_types=frozenset(t.name for t in event_types),
            retry=retry,
            time_limit=time_limit,
            configured=configured,
        )
        return func

    return register


def handlers_in_code(event_type: str) -> list[Handler]:
    """The handlers the apps subscribed to ``event_type``."""
    return [h for h in _handlers.values() if event_type in h.event_types]


def not_configured(event_type: str = "") -> list[str]:
    """The names of the handlers in code (of ``event_type``, if given) whose target the
    deployment has not configured: they get no delivery."""
    candidates = handlers_in_code(event_type) if event_type else _handlers.values()
    return sorted(h.name for h in candidates if not h.is_configured)


def handlers_for(event_type: str) -> list[Handler]:
    """The handlers that get a delivery of ``event_type``: those in code whose target is
    configured, then the operators' active webhooks."""
    return [h for h in handlers_in_code(event_type) if h.is_configured] + [
        webhook_handler(subscription)
        for subscription in _active_subscriptions.get()
        if subscription.matches(event_type)
    ]


_active_subscriptions = SettingsCache(
    lambda: tuple(WebhookSubscription.objects.filter(active=True)), WebhookSubscription
)


def get_handler(name: str) -> Handler:
    """A handler by name; raises KeyError when none of that name exists (any more)."""
    if name.startswith(WEBHOOK_HANDLER_PREFIX):
        subscription = WebhookSubscription.objects.filter(
            pk=int(name.removeprefix(WEBHOOK_HANDLER_PREFIX))
        ).first()
        if subscription is None:
            raise KeyError(name)
        return webhook_handler(subscription)
    return _handlers[name]


def webhook_handler(subscription: WebhookSubscription) -> Handler:
    return Handler(
        name=subscription.handler_name,
        func=partial(deliver_to_subscription, subscription.pk),
        event_types=frozenset(),
    )
