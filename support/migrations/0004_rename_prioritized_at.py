from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("support", "0003_ticket_subject_single_line")]

    operations = [
        migrations.RenameField(
            model_name="ticket", old_name="prioritized_at", new_name="prioritised_at"
        ),
    ]
