import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    """The row itself is written after every migrate (``settings_cache``), with a new token."""

    dependencies = [("events", "0011_delivery_attempts_and_webhook_operations")]

    operations = [
        migrations.CreateModel(
            name="SettingsVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("token", models.UUIDField(default=uuid.uuid4)),
            ],
        ),
    ]
