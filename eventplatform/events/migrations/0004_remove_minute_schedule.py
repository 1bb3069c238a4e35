from django.db import migrations

NAME = "events.reconcile"


def delete_schedule(apps, schema_editor):
    # The scheduler process (manage.py run_scheduler) ticks every second instead.
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("events", "0003_webhook_subscriptions")]

    operations = [migrations.RunPython(delete_schedule, migrations.RunPython.noop)]
