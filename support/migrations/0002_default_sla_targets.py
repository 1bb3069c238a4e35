from django.db import migrations

DEFAULT_FIRST_RESPONSE_HOURS = {"urgent": 1, "high": 4, "normal": 24, "low": 72}


def create_targets(apps, schema_editor):
    SlaTarget = apps.get_model("support", "SlaTarget")
    for priority, hours in DEFAULT_FIRST_RESPONSE_HOURS.items():
        SlaTarget.objects.get_or_create(priority=priority, defaults={"first_response_hours": hours})


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]

    operations = [migrations.RunPython(create_targets, migrations.RunPython.noop)]
