import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Deliveries made before this have no history: only their summary of the last attempt."""

    dependencies = [("events", "0010_event_correlation")]

    operations = [
        migrations.CreateModel(
            name="DeliveryAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "number",
                    models.PositiveIntegerField(
                        help_text="The delivery's attempt count at its start."
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("duration_ms", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("succeeded", "Succeeded"),
                            ("failed", "Failed"),
                            ("retry_later", "Told to retry later"),
                            ("timed_out", "Timed out"),
                            ("skipped", "Skipped"),
                            ("dead", "Failed for good"),
                        ],
                        max_length=12,
                    ),
                ),
                ("error", models.TextField(blank=True)),
                (
                    "http_status",
                    models.PositiveSmallIntegerField(
                        blank=True, help_text="The receiver's answer, for an HTTP call.", null=True
                    ),
                ),
                (
                    "response_excerpt",
                    models.CharField(
                        blank=True, help_text="The start of the receiver's answer.", max_length=200
                    ),
                ),
                (
                    "delivery",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="history",
                        to="events.delivery",
                    ),
                ),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.AddField(
            "webhooksubscription",
            "previous_secret",
            models.CharField(
                blank=True,
                help_text="The secret a rotation replaced: still signed with until its grace ends.",
                max_length=100,
            ),
        ),
        migrations.AddField(
            "webhooksubscription",
            "previous_secret_until",
            models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            "webhooksubscription", "disabled_at", models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            "webhooksubscription",
            "consecutive_failures",
            models.PositiveIntegerField(
                default=0, help_text="Failed attempts since the last success or reactivation."
            ),
        ),
    ]
