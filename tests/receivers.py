"""Real receivers for the platform's outbound traffic: an SMTP server, an HTTP endpoint, and a
server that never answers."""

import email
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpReceiver:
    """An aiosmtpd server on a free local port; ``messages`` holds what it received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"

    def start(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """A local HTTP endpoint that records requests and answers ``status`` (settable live).

    ``delay`` holds each answer back (a slow receiver); ``misbehave`` lists what the next
    requests get instead of ``status``, one entry each: a status code, or ``"reset"`` (the
    connection is reset), or ``"silence"`` (no answer until the client gives up). ``body`` is
    what each answer says (by default ``ok``, or ``error`` from 400 up).
    """

    status: int = 200
    body: bytes | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    requests: list[ReceivedRequest] = field(default_factory=list)
    delay: float = 0.0
    misbehave: list[int | str] = field(default_factory=list)

    def start(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                receiver.requests.append(
                    ReceivedRequest(
                        "POST",
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length),
                    )
                )
                answer = receiver.misbehave.pop(0) if receiver.misbehave else receiver.status
                if answer == "reset":
                    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    return
                time.sleep(60 if answer == "silence" else receiver.delay)
                self.send_response(answer)
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                default = b"ok" if answer < 400 else b"error"
                self.wfile.write(default if receiver.body is None else receiver.body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class SilentServer:
    """A TCP server that accepts connections and never says a word: a hung SMTP or HTTP peer.

    It never calls ``accept()``: the kernel completes the handshake of connections waiting in
    the backlog, so a client connects at once, then waits for an answer that never comes.
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def stop(self) -> None:
        self.listener.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"
