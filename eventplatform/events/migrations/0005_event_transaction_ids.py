from django.db import migrations, models

import eventplatform.events.models

TRANSACTION_ID = "pg_current_xact_id()::text::bigint"
OLDEST_OPEN_TRANSACTION = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def field(db_default=models.NOT_PROVIDED, **kwargs):
    return models.BigIntegerField(null=True, editable=False, db_default=db_default, **kwargs)


class Migration(migrations.Migration):
    """Columns first, defaults second: a volatile default given with ADD COLUMN would make
    PostgreSQL rewrite the whole events table under lock. Existing rows stay NULL and resume
    by position, as before."""

    dependencies = [("events", "0004_remove_minute_schedule")]

    operations = [
        migrations.AddField("event", "transaction_id", field()),
        migrations.AddField("event", "oldest_open_transaction", field()),
        migrations.AlterField(
            "event",
            "transaction_id",
            field(
                db_default=eventplatform.events.models.PostgresqlOnly(TRANSACTION_ID),
                help_text="PostgreSQL: the transaction that wrote it.",
            ),
        ),
        migrations.AlterField(
            "event",
            "oldest_open_transaction",
            field(
                db_default=eventplatform.events.models.PostgresqlOnly(OLDEST_OPEN_TRANSACTION),
                help_text="PostgreSQL: the oldest transaction still open when it was written.",
            ),
        ),
        migrations.AddIndex(
            "event",
            models.Index(
                fields=["transaction_id"],
                name="event_transaction",
                condition=models.Q(transaction_id__isnull=False),
            ),
        ),
    ]
