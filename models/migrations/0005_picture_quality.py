from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.enums import AttachmentVerdict
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_review_claims')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LookalikePair',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attachment_id', fields.UUIDField()),
                ('other_attachment_id', fields.UUIDField()),
                ('distance', fields.SmallIntField()),
            ],
            options={'table': 'lookalike_pair', 'app': 'models', 'unique_together': (('attachment_id', 'other_attachment_id'),), 'pk_attr': 'id', 'table_description': 'Two pictures of different candidates within the look-alike distance, once per direction.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PictureFingerprint',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('attachment_id', fields.UUIDField(unique=True)),
                ('candidate', fields.ForeignKeyField('models.Candidate', source_field='candidate_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('category', fields.ForeignKeyField('models.MaterialCategory', source_field='category_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('phash', fields.BigIntField()),
                ('block0', fields.IntField()),
                ('block1', fields.IntField()),
                ('block2', fields.IntField()),
                ('verdict', fields.CharEnumField(default=AttachmentVerdict.PENDING, description='PENDING: PENDING\nACCEPTED: ACCEPTED\nNEEDS_REPLACEMENT: NEEDS_REPLACEMENT', enum_type=AttachmentVerdict, max_length=24)),
                ('replacement_asked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'picture_fingerprint', 'app': 'models', 'indexes': [Index(fields=['candidate_id', 'replacement_asked_at']), Index(fields=['phash']), Index(fields=['block0', 'phash', 'id']), Index(fields=['block1', 'phash', 'id']), Index(fields=['block2', 'phash', 'id'])], 'pk_attr': 'id', 'table_description': 'The perceptual hash of every stored picture, kept after the picture is deleted.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Attachment',
            name='brightness',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Attachment',
            name='glare',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Attachment',
            name='quality_warnings',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Attachment',
            name='sharpness',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='region',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='AuditEntry',
            name='site',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddIndex(
            model_name='AuditEntry',
            index=Index(fields=['region', 'site', 'action', 'at']),
        ),
        # Decisions made before this release count towards a site's pace too.
        ops.RunSQL(
            "UPDATE audit_entry SET"
            " region = (SELECT c.region FROM candidate c WHERE c.id = audit_entry.candidate_id),"
            " site = (SELECT c.site FROM candidate c WHERE c.id = audit_entry.candidate_id)"
            " WHERE action IN ('RETURN', 'APPROVE', 'REJECT')",
            reverse_sql="",
        ),
        ops.AddField(
            model_name='MaterialCategory',
            name='refuse_warnings',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
