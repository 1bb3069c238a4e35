"""Starting the platform's real processes from a test: ASGI servers and worker clusters.

They run on the test database and the test session's Redis namespace, on free local ports,
and are stopped by the fixture that started them.
"""

import contextlib
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from django.conf import settings
from django.db import connection

from eventplatform.events.supervisor import alive
from tests.receivers import free_port

ROOT = Path(__file__).resolve().parents[1]
# What the stack's Prometheus would present at /metrics; it also reads /readyz's checks.
STACK_METRICS_TOKEN = "stack-metrics-token"


def database_url() -> str:
    """The test database, as a URL the child processes' settings read."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def stack_env(**overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EVENTPLATFORM_NAMESPACE": settings.NAMESPACE,
        "SECRET_KEY": settings.SECRET_KEY,  # tasks are signed with it
        "DEBUG": "0",
        "HTTPS": "0",  # the servers speak plain HTTP on loopback
        "METRICS_TOKEN": STACK_METRICS_TOKEN,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SLACK_WEBHOOK_URL": "",
        "CRM_WEBHOOK_URL": "",
        **overrides,
    }


class Processes:
    """Named child processes, each in its own process group, with its output in a log file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen] = {}
        self.urls: dict[str, str] = {}

    def start_web(self, name: str, port: int | None = None) -> str:
        """Start an ASGI server; a name started before gets its old port back."""
        if port is None:
            port = int(self.urls[name].rsplit(":", 1)[1]) if name in self.urls else free_port()
        url = f"http://127.0.0.1:{port}"
        self._spawn(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "eventplatform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--no-access-log",
                "--ws-max-size",
                "4096",
                # As the Procfile starts it: the stream's small JSON messages gain little from
                # compression, which cost a third of the server's CPU and ~33 KB per socket.
                "--ws-per-message-deflate",
                "false",
            ],
        )
        wait_until_serving(url + "/healthz")
        self.urls[name] = url
        return url

    def start_worker(self, name: str) -> None:
        """Start a supervised worker cluster (``run_workers``), as the Procfile does."""
        self._spawn(name, [sys.executable, "manage.py", "run_workers"])

    def start_scheduler(self, name: str = "scheduler") -> None:
        self._spawn(name, [sys.executable, "manage.py", "run_scheduler"])

    def start_mail_receiver(self, name: str, port: int) -> None:
        """Start ``run_mail_receiver`` (SMTP) on ``port``; returns once it answers EHLO."""
        self._spawn(name, [sys.executable, "manage.py", "run_mail_receiver", "--port", str(port)])

        def answers() -> bool:
            """the mail receiver answers EHLO"""
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp:
                    return smtp.ehlo()[0] == 250
            except OSError:
                return False

        wait_for(answers, timeout=30)

    def cluster(self, name: str) -> list[psutil.Process]:
        """The processes of the cluster that worker ``name`` supervises: the qcluster first."""
        qcluster = wait_for(lambda: psutil.Process(self.running[name].pid).children())[0]
        return [qcluster, *qcluster.children(recursive=True)]

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str) -> None:
        """Stop ``name`` as a deploy does: SIGTERM to its process group, then SIGKILL to
        whatever is left of it after 10 s."""
        process = self.running.pop(name)
        members = _with_descendants([process])
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        if not _ended(members, timeout=10):
            _kill(members)
        process.wait()

    def stop_all(self) -> None:
        """The test is over: every process is killed at once, the clusters that supervisors
        run in process groups of their own included. A graceful stop (``stop``) would cost
        a worker cluster seconds and show nothing more."""
        ending = list(self.running.values())
        self.running.clear()
        _kill(_with_descendants(ending))
        for process in ending:
            process.wait()


def _with_descendants(started: list[subprocess.Popen]) -> list[psutil.Process]:
    processes = []
    for process in started:
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = psutil.Process(process.pid)
            processes += [leader, *leader.children(recursive=True)]
    return processes


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _ended(processes, timeout=10)


def _ended(processes: list[psutil.Process], timeout: float) -> bool:
    """Whether every one of ``processes`` ended within ``timeout`` seconds. An orphan's
    zombie counts as ended: it waits for a parent to reap it, which a container may lack."""
    deadline = time.monotonic() + timeout
    while any(map(alive, processes)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_until_serving(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def wait_for(condition, timeout: float = 15, interval: float = 0.2):
    """Poll ``condition`` until it returns something truthy; return that, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")
