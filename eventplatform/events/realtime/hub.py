"""The stream hub: one per web process, fanning events out to the process's sockets.

Stock group fan-out writes one Redis message per socket and silently discards what a full
channel cannot take. Here each event reaches a process once, already encoded, and the hub
hands it to the local sockets whose groups meet the event's audience. A socket whose buffer
is full is closed with code 4408 so that its client reconnects and resumes; nothing is
dropped without the client knowing. The hub also holds each user's sockets: it caps their
number, and passes on the word that a user's entitlements changed.
"""

import asyncio
import logging
import time
from collections import Counter
from typing import NamedTuple, Protocol

from channels.layers import get_channel_layer

from ..conf import event_setting
from .broadcast import STREAM_GROUP

logger = logging.getLogger(__name__)

# The hub re-joins the stream group this often; the layer forgets a member after
# ``group_expiry`` (300 s), so a process that died stops being sent to soon after.
REFRESH_SECONDS = 60
# A message older than this has waited in Redis long enough that the layer may have expired
# others behind it: every local socket is asked to resume from the outbox instead.
MAX_LAG_SECONDS = 30
# Redis may be down, or take connections and never answer: the hub's group changes give up
# after this long (a socket waiting to join is then told to retry; sockets joined resume).
REDIS_TIMEOUT = 5


class Offer(NamedTuple):
    """An event as the hub hands it to its sockets: made once and shared by them all, however
    many they are."""

    position: int
    text: str
    audience: list[str]


class Subscriber(Protocol):
    def offer(self, event: Offer) -> None: ...

    def lagged(self) -> None: ...

    def recheck(self, ended_session: str) -> None: ...


class StreamUnavailable(Exception):
    """The hub cannot listen (Redis unreachable): a socket should retry later."""


class TooManySockets(Exception):
    """The user already holds ``EVENTS["SOCKETS_PER_USER"]`` sockets on this process."""


class StreamHub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        # Each index has its reverse, so that a socket joining, changing groups or leaving
        # touches only its own entries: walking every group for each socket stalled the loop
        # for seconds when thousands of sockets closed at once.
        self.members: dict[str, set[Subscriber]] = {}
        self.groups_of: dict[Subscriber, list[str]] = {}
        self.sockets_of: dict[int, set[Subscriber]] = {}
        self.user_of: dict[Subscriber, int] = {}
        # Sockets checking their entitlements again, and how many checks each has pending.
        # They are offered every event meanwhile, and keep those their new groups allow.
        self.unsettled: Counter[Subscriber] = Counter()
        self.listening = False
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    async def join(self, subscriber: Subscriber, user_id: int, groups: list[str]) -> None:
        """Start delivering events of ``groups`` to ``subscriber``, a socket of user
        ``user_id``; returns once listening.

        Raises StreamUnavailable when the hub cannot listen (Redis unreachable), and
        TooManySockets when the user holds as many sockets as they may.
        """
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._listen(), name="stream-hub")
        await self._ready.wait()
        if not self.listening:
            raise StreamUnavailable
        # Counted and added with no await in between: sockets opening at once cannot all
        # slip under the limit.
        sockets = self.sockets_of.setdefault(user_id, set())
        if len(sockets) >= event_setting("SOCKETS_PER_USER"):
            raise TooManySockets
        sockets.add(subscriber)
        self.user_of[subscriber] = user_id
        # A member only once listening: a hub that fails tells its members to resume, and
        # that must not reach a socket still being opened.
        self._regroup(subscriber, groups)

    def rechecked(self, subscriber: Subscriber, groups: list[str]) -> None:
        """``subscriber`` finished a check of its entitlements: ``groups`` are now its own."""
        if subscriber in self.user_of:  # it may have left while its check ran
            self._regroup(subscriber, groups)
        self.unsettled[subscriber] -= 1
        if self.unsettled[subscriber] <= 0:
            del self.unsettled[subscriber]

    def leave(self, subscriber: Subscriber) -> None:
        self._ungroup(subscriber)
        user_id = self.user_of.pop(subscriber, None)
        if user_id is not None:
            _discard(self.sockets_of, user_id, subscriber)
        self.unsettled.pop(subscriber, None)

    def _regroup(self, subscriber: Subscriber, groups: list[str]) -> None:
        self._ungroup(subscriber)
        self.groups_of[subscriber] = list(groups)
        for group in groups:
            self.members.setdefault(group, set()).add(subscriber)

    def _ungroup(self, subscriber: Subscriber) -> None:
        for group in self.groups_of.pop(subscriber, ()):
            _discard(self.members, group, subscriber)

    def fan_out(self, message: dict) -> None:
        targets = set(self.unsettled)
        for group in message["audience"]:
            targets |= self.members.get(group, set())
        if time.time() - message["sent_at"] > MAX_LAG_SECONDS:
            logger.warning(
                "stream hub is %.0f s behind; asking sockets to resume",
                time.time() - message["sent_at"],
            )
            self._lag_all()
            return
        event = Offer(message["position"], message["text"], message["audience"])
        for subscriber in targets:
            subscriber.offer(event)

    def recheck(self, message: dict) -> None:
        for user_id in message["user_ids"]:
            for subscriber in self.sockets_of.get(user_id, ()):
                self.unsettled[subscriber] += 1
                subscriber.recheck(message["ended_session"])

    async def _listen(self) -> None:
        # The default "specific." prefix: channels-redis receives all of a process's channels
        # through one key named by that prefix.
        channel = await self.layer.new_channel()
        try:
            await asyncio.wait_for(self.layer.group_add(STREAM_GROUP, channel), REDIS_TIMEOUT)
        except Exception as error:
            logger.warning("stream hub cannot reach the channel layer (%r); sockets retry", error)
            self._ready.set()
            return
        self.listening = True
        self._ready.set()
        refresher = asyncio.create_task(self._keep_membership(channel))
        try:
            while True:
                message = await self.layer.receive(channel)
                if message.get("type") == "stream.event":
                    self.fan_out(message)
                elif message.get("type") == "stream.recheck":
                    self.recheck(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Redis went away: every socket may have missed events, so all resume.
            logger.exception("stream hub lost the channel layer; closing sockets to resume")
            self._lag_all()
        finally:
            self.listening = False
            refresher.cancel()
            try:
                await asyncio.wait_for(
                    self.layer.group_discard(STREAM_GROUP, channel), REDIS_TIMEOUT
                )
            except Exception:
                logger.warning("could not leave the stream group; it expires by itself")

    async def _keep_membership(self, channel: str) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await asyncio.wait_for(self.layer.group_add(STREAM_GROUP, channel), REDIS_TIMEOUT)
            except Exception:
                # Left as it is, the group would forget this process and its sockets would
                # silently receive nothing. They resume instead, and the next join starts over.
                logger.exception("stream hub could not renew its membership; closing sockets")
                self._lag_all()
                self._task.cancel()
                return

    def _lag_all(self) -> None:
        for subscriber in list(self.groups_of):
            subscriber.lagged()


def _discard(index: dict, key, subscriber: Subscriber) -> None:
    """Take ``subscriber`` out of ``index[key]``, and the key out once nobody is left."""
    members = index.get(key)
    if members is not None:
        members.discard(subscriber)
        if not members:
            del index[key]


_hubs: dict[asyncio.AbstractEventLoop, StreamHub] = {}


def get_hub() -> StreamHub:
    """The hub of the running event loop (one per server process; one per test's loop)."""
    loop = asyncio.get_running_loop()
    for stale in [other for other in _hubs if other.is_closed()]:
        del _hubs[stale]
    if loop not in _hubs:
        _hubs[loop] = StreamHub()
    return _hubs[loop]
