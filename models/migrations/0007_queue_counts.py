"""Counts per region, site and status kept by triggers; the first submission and first review.

The triggers change `queue_count` in the same transaction as the candidate row, so a count
commits or rolls back with its change. On PostgreSQL a move between two count rows updates
them in key order, so two transactions moving candidates opposite ways wait for each other
instead of deadlocking. Existing rows are backfilled: the first submission and first decision
from the audit log, then every count from the candidates (after the triggers exist, so nothing
written meanwhile is missed: on PostgreSQL CREATE TRIGGER holds writers off until commit).
"""

from datetime import datetime
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ReviewStatus
from tortoise import fields
from tortoise.indexes import Index


# The first SUBMIT of each candidate, and the first decision after it (as the statistics
# always read the audit log).
FIRSTS = """
WITH s AS (
  SELECT candidate_id, MIN(id) AS sid FROM audit_entry WHERE action = 'SUBMIT' GROUP BY candidate_id
), d AS (
  SELECT s.candidate_id, MIN(a.id) AS did FROM s JOIN audit_entry a
    ON a.candidate_id = s.candidate_id AND a.id > s.sid AND a.action IN ('RETURN', 'APPROVE', 'REJECT')
  GROUP BY s.candidate_id
)
SELECT s.candidate_id AS candidate_id, sa.at AS submitted, da.at AS decided
FROM s JOIN audit_entry sa ON sa.id = s.sid
LEFT JOIN d ON d.candidate_id = s.candidate_id LEFT JOIN audit_entry da ON da.id = d.did
"""

COUNTS = [
    "DELETE FROM queue_count",
    "INSERT INTO queue_count (region, site, status, n, reviewed) "
    "SELECT region, site, status, COUNT(*), COUNT(first_review_seconds) FROM candidate "
    "GROUP BY region, site, status",
]

# Fires only when a counted column really changes (Tortoise's save() sets every column).
CHANGED = (
    "OLD.status IS DISTINCT FROM NEW.status OR OLD.region IS DISTINCT FROM NEW.region "
    "OR OLD.site IS DISTINCT FROM NEW.site "
    "OR (OLD.first_review_seconds IS NULL) <> (NEW.first_review_seconds IS NULL)"
)

POSTGRES = [
    """
CREATE FUNCTION queue_count_add(r TEXT, s TEXT, st TEXT, dn INTEGER, dr INTEGER) RETURNS VOID
LANGUAGE sql AS $$
  INSERT INTO queue_count (region, site, status, n, reviewed) VALUES (r, s, st, dn, dr)
  ON CONFLICT (region, site, status)
  DO UPDATE SET n = queue_count.n + EXCLUDED.n, reviewed = queue_count.reviewed + EXCLUDED.reviewed
$$
""",
    """
CREATE FUNCTION queue_count_candidate() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
  was INTEGER;
  now_reviewed INTEGER;
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM queue_count_add(NEW.region, NEW.site, NEW.status, 1, (NEW.first_review_seconds IS NOT NULL)::INTEGER);
    RETURN NULL;
  END IF;
  was := (OLD.first_review_seconds IS NOT NULL)::INTEGER;
  IF TG_OP = 'DELETE' THEN
    PERFORM queue_count_add(OLD.region, OLD.site, OLD.status, -1, -was);
    RETURN NULL;
  END IF;
  now_reviewed := (NEW.first_review_seconds IS NOT NULL)::INTEGER;
  IF (OLD.region, OLD.site, OLD.status) = (NEW.region, NEW.site, NEW.status) THEN
    PERFORM queue_count_add(NEW.region, NEW.site, NEW.status, 0, now_reviewed - was);
  ELSIF (OLD.region, OLD.site, OLD.status) < (NEW.region, NEW.site, NEW.status) THEN
    -- Two rows change: always the lower key first, so opposite moves cannot deadlock.
    PERFORM queue_count_add(OLD.region, OLD.site, OLD.status, -1, -was);
    PERFORM queue_count_add(NEW.region, NEW.site, NEW.status, 1, now_reviewed);
  ELSE
    PERFORM queue_count_add(NEW.region, NEW.site, NEW.status, 1, now_reviewed);
    PERFORM queue_count_add(OLD.region, OLD.site, OLD.status, -1, -was);
  END IF;
  RETURN NULL;
END
$$
""",
    "CREATE TRIGGER candidate_count_insert AFTER INSERT ON candidate "
    "FOR EACH ROW EXECUTE FUNCTION queue_count_candidate()",
    "CREATE TRIGGER candidate_count_delete AFTER DELETE ON candidate "
    "FOR EACH ROW EXECUTE FUNCTION queue_count_candidate()",
    "CREATE TRIGGER candidate_count_update AFTER UPDATE OF status, region, site, first_review_seconds "
    f"ON candidate FOR EACH ROW WHEN ({CHANGED}) EXECUTE FUNCTION queue_count_candidate()",
]

POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS candidate_count_insert ON candidate",
    "DROP TRIGGER IF EXISTS candidate_count_delete ON candidate",
    "DROP TRIGGER IF EXISTS candidate_count_update ON candidate",
    "DROP FUNCTION IF EXISTS queue_count_candidate()",
    "DROP FUNCTION IF EXISTS queue_count_add(TEXT, TEXT, TEXT, INTEGER, INTEGER)",
]

_SQLITE_ADD = (
    "INSERT INTO queue_count (region, site, status, n, reviewed) "
    "VALUES (NEW.region, NEW.site, NEW.status, 1, NEW.first_review_seconds IS NOT NULL) "
    "ON CONFLICT (region, site, status) "
    "DO UPDATE SET n = n + excluded.n, reviewed = reviewed + excluded.reviewed;"
)
_SQLITE_REMOVE = (
    "UPDATE queue_count SET n = n - 1, reviewed = reviewed - (OLD.first_review_seconds IS NOT NULL) "
    "WHERE region = OLD.region AND site = OLD.site AND status = OLD.status;"
)

SQLITE = [
    f"CREATE TRIGGER candidate_count_insert AFTER INSERT ON candidate BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER candidate_count_delete AFTER DELETE ON candidate BEGIN {_SQLITE_REMOVE} END",
    "CREATE TRIGGER candidate_count_update AFTER UPDATE OF status, region, site, first_review_seconds "
    f"ON candidate FOR EACH ROW WHEN {CHANGED} BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS candidate_count_insert",
    "DROP TRIGGER IF EXISTS candidate_count_delete",
    "DROP TRIGGER IF EXISTS candidate_count_update",
]


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


async def _run(client: Any, statements: list[str]) -> None:
    # One statement per call: the SQLite schema editor would split a trigger body on its ";".
    for statement in statements:
        await client.execute_query(statement)


async def backfill_firsts(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        await client.execute_query(
            "UPDATE candidate SET first_submitted_at = f.submitted, "
            "first_review_seconds = EXTRACT(EPOCH FROM f.decided - f.submitted)::DOUBLE PRECISION "
            f"FROM ({FIRSTS}) AS f WHERE candidate.id = f.candidate_id"
        )
        return
    _, rows = await client.execute_query(FIRSTS)
    for row in rows:
        submitted = _moment(row["submitted"])
        seconds = None
        if row["decided"] is not None:
            seconds = (_moment(row["decided"]) - submitted).total_seconds()
        await client.execute_query(
            "UPDATE candidate SET first_submitted_at = ?, first_review_seconds = ? WHERE id = ?",
            [row["submitted"], seconds, row["candidate_id"]],
        )


async def create_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    await _run(client, (POSTGRES if postgres else SQLITE) + COUNTS)


async def drop_triggers(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    await _run(client, POSTGRES_DROP if postgres else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [('models', '0006_picture_access_log')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QueueCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('region', fields.CharField(max_length=64)),
                ('site', fields.CharField(max_length=64)),
                ('status', fields.CharEnumField(description='DRAFT: DRAFT\nSUBMITTED: SUBMITTED\nRETURNED: RETURNED\nAPPROVED: APPROVED\nREJECTED: REJECTED', enum_type=ReviewStatus, max_length=16)),
                ('n', fields.IntField(default=0)),
                ('reviewed', fields.IntField(default=0)),
            ],
            options={'table': 'queue_count', 'app': 'models', 'unique_together': (('region', 'site', 'status'),), 'pk_attr': 'id', 'table_description': 'Candidates per region, site and status. Written only by the candidate triggers.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Candidate',
            name='first_review_seconds',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Candidate',
            name='first_submitted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['region', 'site', 'first_review_seconds']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['region', 'first_review_seconds']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['first_review_seconds']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['claim_expires_at']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['region', 'site', 'status', 'reply_deadline']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['region', 'status', 'reply_deadline']),
        ),
        ops.AddIndex(
            model_name='Candidate',
            index=Index(fields=['status', 'reply_deadline']),
        ),
        ops.RunPython(backfill_firsts, ops.RunPython.noop),
        ops.RunPython(create_triggers, drop_triggers),
    ]
