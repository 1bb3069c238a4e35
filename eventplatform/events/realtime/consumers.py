"""``/ws/stream/``: the live event stream of one user, with resume."""

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db.models import Q

from ..audience import groups_for_user
from ..conf import event_setting
from ..envelope import to_json
from ..models import Event
from .hub import Offer, StreamHub, StreamUnavailable, TooManySockets, get_hub
from .middleware import SERVER_SEND, current_user, off_the_view_thread

logger = logging.getLogger(__name__)


class CloseCode:
    """Why the server closed a socket; ``static/js/live.js`` acts on each."""

    # The stream takes no data: a client that sends any (text, binary, of any size) is closed.
    UNSUPPORTED_DATA = 1003
    SERVER_ERROR = 1011  # the client reconnects, backing off
    UNAUTHENTICATED = 4401
    TOO_SLOW = 4408  # the client resumes from its last event id
    # More missed than a resume carries, or resuming from an unknown event: the client reloads.
    TOO_FAR_BEHIND = 4410
    # The user already holds EVENTS["SOCKETS_PER_USER"] sockets on this server process.
    TOO_MANY_SOCKETS = 4429
    # The login the socket was opened with ended: a logout, a deactivation, a deleted token.
    SIGNED_OUT = 4440
    # The server cannot listen for events (its Redis is down): the client retries, backing off.
    UNAVAILABLE = 4503


@dataclass(frozen=True)
class Recheck:
    """Queued among the events: those behind it are sent only if still entitled."""

    ended_session: str


class TooFarBehind(Exception):
    pass


# "Since before the first event": what a page rendered before any event existed resumes from.
NIL_UUID = str(uuid.UUID(int=0))


def unseen_after(mark: Event) -> Q:
    """The events a client that has seen ``mark`` may not have seen yet.

    SQLite lets one transaction write at a time: events commit in position order, and the
    unseen ones come after ``mark``. On PostgreSQL a transaction still open when ``mark`` was
    written may commit after it, whatever its position, while one already finished committed
    before it and its events reached the client first. So every transaction from the oldest
    then open on (every later position included), except ``mark``'s own up to ``mark``. A
    few events the client has may come again; it applies each id once. See "Resume in commit
    order" in docs/architecture.md.
    """
    if mark.oldest_open_transaction is None:  # SQLite, or written before PostgreSQL kept it
        return Q(position__gt=mark.position)
    return Q(transaction_id__gte=mark.oldest_open_transaction) & ~Q(
        transaction_id=mark.transaction_id, position__lte=mark.position
    )


def missed_events(since: str, groups: list[str]) -> list[tuple[int, str]]:
    """Encoded events that ``groups`` may see and that may have committed after event
    ``since``, in position order.

    Raises TooFarBehind when they are too many, or when ``since`` is no event we know (so
    what the client missed cannot be told): the client then reloads its page.
    """
    missed = Event.objects.filter(audiences__group__in=groups)
    if since != NIL_UUID:
        try:
            mark = Event.objects.get(id=uuid.UUID(since))
        except (ValueError, Event.DoesNotExist):
            logger.info("resume from unknown event %r: asking the client to reload", since)
            raise TooFarBehind from None
        missed = missed.filter(unseen_after(mark))
    limit = event_setting("RESUME_LIMIT")
    missed = list(missed.distinct().order_by("position")[: limit + 1])
    if len(missed) > limit:
        raise TooFarBehind
    return [(event.position, to_json(event).decode()) for event in missed]


class StreamConsumer(AsyncWebsocketConsumer):
    """Subscribes the user to the groups they are entitled to; sends CloudEvents JSON.

    What the hub offers waits in ``pending`` (a bounded buffer: past ``SOCKET_BUFFER``
    the socket is closed with 4408) for the socket's writer, which the offer wakes. A plain
    deque and one future per wake-up: an ``asyncio.Queue`` costs several times the Python
    calls per message, and a task started per message costs more again (asyncio registers
    every task), at thousands of messages a second.
    """

    # No channel of its own: the process's hub receives from the layer for every socket.
    channel_layer_alias = None
    closing = closed = False
    hub: StreamHub | None = None  # once it has joined
    writer: asyncio.Task | None = None  # started once what a resume carried is sent
    wakeup: asyncio.Future | None = None  # what the writer awaits while nothing is pending

    async def connect(self) -> None:
        user = self.scope["user"]
        if not user.is_authenticated:
            await self._refuse(CloseCode.UNAUTHENTICATED)
            return
        self.entitled = set(await off_the_view_thread(groups_for_user)(user))
        self.pending: deque[Offer | Recheck] = deque()
        self.buffer_size = event_setting("SOCKET_BUFFER")
        self.already_sent: set[int] = set()
        hub = get_hub()
        # Listen first, then read the outbox: an event committed in between arrives both
        # ways and is sent once. Accepting only once listening means a client that sees the
        # socket open misses nothing published after that.
        try:
            await hub.join(self, user.pk, list(self.entitled))
        except StreamUnavailable:
            await self._refuse(CloseCode.UNAVAILABLE)
            return
        except TooManySockets:
            logger.info("user %s holds too many sockets; refusing another", user.pk)
            await self._refuse(CloseCode.TOO_MANY_SOCKETS)
            return
        self.hub = hub
        await self.accept()
        since = parse_qs(self.scope.get("query_string", b"").decode()).get("since", [""])[0]
        if since:
            try:
                missed = await off_the_view_thread(missed_events)(since, list(self.entitled))
            except TooFarBehind:
                await self._close(CloseCode.TOO_FAR_BEHIND)
                return
            for position, text in missed:
                await self._send_event(text)
                self.already_sent.add(position)
        # Kept on the consumer: a task nobody references may be collected before it runs.
        self.writer = asyncio.ensure_future(self._write())

    async def dispatch(self, message: dict) -> None:
        """Channels' dispatch, without its hop to the views' thread before every message to
        close stale database connections: this consumer reads the database only through
        ``off_the_view_thread``, whose threads close their own. With the hop, thousands of
        sockets opening or closing at once queued thousands of hops ahead of every view."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict) -> None:
        """Channels' disconnect, without the same hop after it (see ``dispatch``): 6,000
        sockets closing at once held every synchronous view back by 2 s. The consumer
        joins no channel-layer group of its own to leave."""
        await self.disconnect(message["code"])
        raise StopConsumer

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code``: closed before accepting, the socket would reach
        the browser as a bare 403, which it can tell neither to log in nor to retry."""
        await self.accept()
        self.closing = self.closed = True
        await self.close(code=code)

    async def _write(self) -> None:
        """Send what is pending, in order; then wait for the next offer."""
        loop = asyncio.get_running_loop()
        send = self.scope[SERVER_SEND]  # per message and socket: no wrapper, no lookup
        while not self.closed:
            while self.pending and not self.closed:
                item = self.pending.popleft()
                if isinstance(item, Recheck):
                    await self._recheck(item.ended_session)
                    continue
                position, text, audience = item
                if position in self.already_sent:  # the resume carried it
                    self.already_sent.discard(position)
                    continue
                # Offered while a check was pending, or queued before one took a group away.
                if not self.entitled.isdisjoint(audience):
                    await send({"type": "websocket.send", "text": text})
            self.wakeup = loop.create_future()
            await self.wakeup

    async def _recheck(self, ended_session: str) -> None:
        """Follow the user's entitlements: close if they are signed out, else see what their
        groups now allow."""
        try:
            user = await off_the_view_thread(current_user)(self.scope, ended_session)
            entitled = await off_the_view_thread(groups_for_user)(user)
        except Exception:
            # Unchecked, the socket may not keep what it has: the client reconnects, and its
            # entitlements are computed afresh.
            logger.exception("could not check the entitlements of a socket; closing it")
            await self._close(CloseCode.SERVER_ERROR)
            return
        if not user.is_authenticated:
            logger.info("user %s signed out; closing their socket", self.scope["user"].pk)
            await self._close(CloseCode.SIGNED_OUT)
            return
        self.entitled = set(entitled)
        if not self.closing:  # closed meanwhile (it lagged): it must not rejoin
            self.hub.rechecked(self, list(self.entitled))

    async def _send_event(self, text: str) -> None:
        # The close may be sent while a resume is under way (the socket lagged, or its hub
        # lost Redis): nothing may follow it, or the server raises. The live writer checks
        # the same before each event it takes, with nothing awaited until it is sent.
        if not self.closed:
            await self.scope[SERVER_SEND]({"type": "websocket.send", "text": text})

    def offer(self, event: Offer) -> None:
        self._enqueue(event)

    def recheck(self, ended_session: str) -> None:
        self._enqueue(Recheck(ended_session))

    def _enqueue(self, item: Offer | Recheck) -> None:
        if self.closing:
            return
        if len(self.pending) >= self.buffer_size:
            logger.info(
                "socket of user %s cannot keep up; closing with 4408", self.scope["user"].pk
            )
            self.lagged()
            return
        self.pending.append(item)
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    def lagged(self) -> None:
        if not self.closing:
            self.closing = True
            # Kept on the consumer: a task nobody references may be collected before it runs.
            self.closer = asyncio.ensure_future(self._close(CloseCode.TOO_SLOW))

    async def _close(self, code: int) -> None:
        self.closing = True
        if self.hub is not None:
            self.hub.leave(self)
        if not self.closed:  # the hub may have closed it while a resume was read
            self.closed = True
            await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """The stream is one-way: whatever a client sends closes its socket (1003), so that
        no client can make the server buffer, parse or answer anything. The server's
        ``--ws-max-size`` caps what it reads of a frame before that."""
        await self._close(CloseCode.UNSUPPORTED_DATA)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            self.hub.leave(self)
        if self.writer is not None:
            self.writer.cancel()
