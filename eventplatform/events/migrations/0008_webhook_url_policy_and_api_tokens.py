import eventplatform.events.models
import eventplatform.events.urlpolicy
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('authtoken', '0004_alter_tokenproxy_options'),
        ('events', '0007_stable_handler_names'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
            ],
            options={
                'verbose_name': 'API token',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('authtoken.tokenproxy',),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='secret',
            field=models.CharField(default=eventplatform.events.models.new_webhook_secret, help_text='Standard Webhooks secret (whsec_...); the receiver verifies signatures with it.', max_length=100, validators=[eventplatform.events.models.validate_webhook_secret]),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='url',
            field=models.URLField(help_text='A public http(s) address; private and internal ones are refused.', max_length=500, validators=[eventplatform.events.urlpolicy.validate_outbound_url]),
        ),
    ]
