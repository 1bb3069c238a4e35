from django.db import migrations

NAME = "events.prune"


def create_schedule(apps, schema_editor):
    # Daily, from the first scheduler tick: what is past EVENTS["RETENTION_DAYS"] goes.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "eventplatform.events.tasks.prune_events",
            "schedule_type": "D",
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_webhook_url_policy_and_api_tokens"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
