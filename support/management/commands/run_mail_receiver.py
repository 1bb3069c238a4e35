import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from support.mail_receiver import mail_receiver


class Command(BaseCommand):
    help = (
        "Receive support mail over SMTP (or LMTP) from a local mail server such as Postfix; "
        "each message is stored before it is acknowledged."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.MAIL_RECEIVER_HOST)
        parser.add_argument("--port", type=int, default=settings.MAIL_RECEIVER_PORT)
        parser.add_argument(
            "--lmtp", action="store_true", help="Speak LMTP (Postfix's lmtp: transport)."
        )

    def handle(self, *args, host: str, port: int, lmtp: bool, **options):
        receiver = mail_receiver(
            host=host, port=port, lmtp=lmtp, max_bytes=settings.MAIL_RECEIVER_MAX_BYTES
        )
        stopping = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            # Set from another thread: the handler may interrupt stopping.wait() holding its lock.
            signal.signal(signum, lambda *_: threading.Thread(target=stopping.set).start())
        receiver.start()
        protocol = "LMTP" if lmtp else "SMTP"
        self.stdout.write(f"Receiving support mail over {protocol} on {host}:{port}")
        try:
            while not stopping.wait(1):
                pass
        finally:
            receiver.stop()
        self.stdout.write("Mail receiver stopped")
