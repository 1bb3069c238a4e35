"""The catalog of event types.

Each app declares its event types in its ``events.py``, one module-level declaration per type::

    class TicketCreated(Payload):
        ticket_id: int
        customer_id: int

    TICKET_CREATED = EventType(
        "support.ticket.created.v1",
        TicketCreated,
        audience=lambda p: [AGENTS, user_group(p.customer_id)],
        description="A customer submitted a ticket.",
    )

Payloads are frozen pydantic models of ids and primitives, checked strictly, so that a payload
that does not match its declaration fails where it is built, not in a worker later.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from .audience import Group

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}\.v[1-9][0-9]*$")


class Payload(BaseModel):
    """Base of every event payload: immutable, no unknown fields, no type coercion."""

    # A field's docstring is its description, in the JSON Schema and docs/events.md.
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, use_attribute_docstrings=True
    )


class UnknownEventType(LookupError):
    """Raised when publishing or looking up a type that no app declared."""


@dataclass(frozen=True)
class EventType:
    name: str
    payload: type[Payload]
    audience: Callable[[Any], Iterable[Group]] = field(default=lambda payload: ())
    description: str = ""

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ValueError(
                f"Event type name {self.name!r} must read <app>.<entity>.<verb>.v<major>."
            )
        if not (isinstance(self.payload, type) and issubclass(self.payload, Payload)):
            raise TypeError(f"{self.name}: payload must be a subclass of Payload.")
        registered = _registry.setdefault(self.name, self)
        if registered is not self and registered.payload is not self.payload:
            raise ValueError(f"Event type {self.name!r} is declared twice.")

    @property
    def source(self) -> str:
        """The CloudEvents source: the declaring app."""
        return "/" + self.name.split(".", 1)[0]

    def build(self, payload: Payload | dict[str, Any]) -> Payload:
        """Return the payload as this type's model, validating a dict; raise if it does not fit."""
        if isinstance(payload, self.payload):
            return payload
        if isinstance(payload, Payload):
            raise TypeError(
                f"{self.name} takes a {self.payload.__name__} payload, "
                f"not {type(payload).__name__}."
            )
        return self.payload.model_validate(payload)

    def groups_for(self, payload: Payload) -> list[str]:
        """The realtime groups that may see this event, in a stable order, without repeats."""
        return sorted({str(group) for group in self.audience(payload)})

    def json_schema(self) -> dict[str, Any]:
        schema = self.payload.model_json_schema()
        schema["title"] = self.name
        if self.description:
            schema["description"] = self.description
        return schema


_registry: dict[str, EventType] = {}


def get_event_type(name: str) -> EventType:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownEventType(f"No app declares the event type {name!r}.") from None


def all_event_types() -> list[EventType]:
    return sorted(_registry.values(), key=lambda t: t.name)
