from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.notifications import OutboxKind, OutboxStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AttachmentReasons',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attachment', fields.OneToOneField('models.Attachment', source_field='attachment_id', db_constraint=True, to_field='id', related_name='reasons', on_delete=OnDelete.CASCADE)),
                ('codes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'attachment_reasons', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The reason codes an examiner gave with the last verdict on a picture.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='SMS: SMS\nWEBHOOK: WEBHOOK', enum_type=OutboxKind, max_length=16)),
                ('status', fields.CharEnumField(default=OutboxStatus.QUEUED, description='QUEUED: QUEUED\nSENT: SENT\nFAILED: FAILED\nDROPPED: DROPPED', enum_type=OutboxStatus, max_length=16)),
                ('candidate', fields.ForeignKeyField('models.Candidate', source_field='candidate_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('target', fields.CharField(max_length=500)),
                ('body', fields.TextField(unique=False)),
                ('idempotency_key', fields.CharField(unique=True, max_length=64)),
                ('notice_count', fields.IntField(default=1)),
                ('drop_if_read', fields.BooleanField(default=False)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=64)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dropped_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_message', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['kind', 'target', 'status'])], 'pk_attr': 'id', 'table_description': 'One SMS or webhook call. Written in the same transaction as the change it reports.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RegionPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('region', fields.CharField(unique=True, max_length=64)),
                ('sms_template', fields.TextField(null=True, unique=False)),
                ('sms_approval_template', fields.TextField(null=True, unique=False)),
                ('sms_hold_minutes', fields.IntField(default=0)),
                ('reply_hours', fields.IntField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'region_policy', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Overrides for one region (考区). A missing row or a null field means the default.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SmsNotice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('outbox', fields.ForeignKeyField('models.OutboxMessage', source_field='outbox_id', db_constraint=True, to_field='id', related_name='notices', on_delete=OnDelete.CASCADE)),
                ('message', fields.OneToOneField('models.ReviewMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='sms_notice', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'sms_notice', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Which SMS tells the candidate of a message. Several messages may share one SMS.'},
            bases=['Model'],
        ),
    ]
