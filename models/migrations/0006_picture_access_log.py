from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.enums import Role
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_picture_quality')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PictureAccess',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('candidate', fields.ForeignKeyField('models.Candidate', source_field='candidate_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('attachment_id', fields.UUIDField()),
                ('category_id', fields.IntField()),
                ('staff', fields.ForeignKeyField('models.StaffUser', source_field='staff_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('viewer_name', fields.CharField(max_length=100)),
                ('viewer_role', fields.CharEnumField(description='CANDIDATE: CANDIDATE\nEXAMINER: EXAMINER\nADMIN: ADMIN', enum_type=Role, max_length=16)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'picture_access', 'app': 'models', 'indexes': [Index(fields=['candidate_id', 'at'])], 'pk_attr': 'id', 'table_description': 'One opening of an original picture by a member of staff. Written in batches, never updated.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RetentionPurge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('candidate', fields.OneToOneField('models.Candidate', source_field='candidate_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('decided_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('purged_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('pictures', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('picture_count', fields.IntField(default=0)),
                ('byte_count', fields.BigIntField(default=0)),
                ('phone_removed', fields.BooleanField(default=False)),
                ('address_removed', fields.BooleanField(default=False)),
            ],
            options={'table': 'retention_purge', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What the retention purge removed from one decided candidate. Its row marks the job done.'},
            bases=['Model'],
        ),
    ]
