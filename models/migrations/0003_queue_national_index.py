from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_sms_outbox')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['status', 'queue_at', 'id']),
        ),
    ]
