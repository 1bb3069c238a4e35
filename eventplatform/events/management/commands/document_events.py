from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eventplatform.events.documentation import catalog_markdown


class Command(BaseCommand):
    help = "Write the event catalog (types, payloads, audiences, handlers) to docs/events.md."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            default=Path(settings.BASE_DIR) / "docs" / "events.md",
            help="Where to write it (default: docs/events.md).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; fail when the file differs from the declarations.",
        )

    def handle(self, *args, output: Path, check: bool, **options):
        document = catalog_markdown()
        if check:
            if not output.exists() or output.read_text() != document:
                raise CommandError(f"{output} is stale: run manage.py document_events.")
            self.stdout.write(f"{output} matches the declarations.")
            return
        output.write_text(document)
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}."))
