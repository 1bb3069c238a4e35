from django.db import migrations, models


class Migration(migrations.Migration):
    """Events written before this keep an empty correlation id: they belong to no chain."""

    dependencies = [("events", "0009_prune_schedule")]

    operations = [
        migrations.AddField(
            "event",
            "correlation_id",
            models.CharField(
                max_length=64,
                blank=True,
                editable=False,
                help_text="The request, or the run outside any request, that caused it.",
            ),
        ),
        migrations.AddField(
            "event",
            "causation_id",
            models.UUIDField(
                null=True,
                blank=True,
                editable=False,
                help_text="The event whose reaction published it; empty for a chain's first.",
            ),
        ),
        migrations.AddIndex(
            "event", models.Index(fields=["correlation_id"], name="event_correlation")
        ),
    ]
