from django.db import migrations

# Handlers were named by their Python path; each now has a name of its own (@subscribe(name=)).
RENAMED = {
    "support.handlers.send_acknowledgement_email": "support.acknowledgement-email",
    "support.handlers.prioritize_ticket": "support.prioritisation",
    "support.handlers.notify_agents_on_slack": "support.slack-new-ticket",
    "support.handlers.update_crm": "support.crm-update",
    "support.handlers.schedule_sla_check": "support.sla-timer",
    "support.handlers.alert_agents_of_sla_breach": "support.slack-sla-breach",
    "support.handlers.email_customer_about_reply": "support.reply-email",
    "training.handlers.send_onboarding_email": "training.onboarding-email",
    "training.handlers.send_congratulations_email": "training.congratulations-email",
    "training.handlers.post_to_learning_dashboard": "training.learner-dashboard",
    "training.handlers.notify_instructor": "training.instructor-notification",
    "training.handlers.email_instructor": "training.instructor-email",
    "training.handlers.record_learning_activity": "training.analytics",
}


def rename(apps, schema_editor, names):
    Delivery = apps.get_model("events", "Delivery")
    for old, new in names.items():
        Delivery.objects.filter(handler=old).update(handler=new)


class Migration(migrations.Migration):
    dependencies = [("events", "0006_delivery_claimed_by_replayed_at")]

    operations = [
        migrations.RunPython(
            lambda apps, editor: rename(apps, editor, RENAMED),
            lambda apps, editor: rename(apps, editor, {v: k for k, v in RENAMED.items()}),
        )
    ]
