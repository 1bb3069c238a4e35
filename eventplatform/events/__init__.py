"""The event backbone: everything an app uses to declare events, publish them and react.

    from eventplatform.events import EventType, Payload, publish, subscribe, Skip

Apps import from here and from nothing deeper; ``tests/test_import_rules.py`` holds them to it.
"""

from importlib import import_module

# Each name, and the module of the backbone that defines it.
_PUBLIC = {
    # Declaring event types and their audiences.
    "EventType": "catalog",
    "Payload": "catalog",
    "Group": "audience",
    "user_group": "audience",
    "entitlement": "audience",
    "has_role": "audience",
    # Publishing: the outbox, and the models it writes.
    "publish": "outbox",
    "Event": "models",
    "EventedModel": "evented",
    "EventedQuerySet": "evented",
    # Reacting: handlers, their policies and outcomes, outbound webhooks.
    "subscribe": "subscriptions",
    "RetryPolicy": "subscriptions",
    "Skip": "outcomes",
    "PermanentFailure": "outcomes",
    "RetryLater": "outcomes",
    "post_event": "webhooks",
    "raise_for_answer": "webhooks",
    "SettingsCache": "settings_cache",
    "settings_changed": "settings_cache",
    # Operators' views.
    "chain_link": "chains",
    # Live pages.
    "live_page": "realtime.pages",
    "entitlements_changed": "realtime.broadcast",
    # Tests.
    "isolated_handlers": "testing",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    # Resolved on first use: this package is a Django app, imported before models may be.
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_PUBLIC[name]}"), name)
