"""`exam-review export-results` (server/sms/commands.py, resolvers/results.py): a real CLI round trip."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from models import Candidate
from models.enums import ReviewStatus
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.service import Service

CLI = Path(sys.executable).with_name("exam-review")


async def run_cli(service: Service, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": service.settings.database_url,
        "VAR_DIR": str(service.settings.var_dir),
        "SECRET_KEY": service.settings.secret_key,
    }
    process = await asyncio.create_subprocess_exec(
        str(CLI), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_export_round_trip_csv_and_jsonl(service: Service, tmp_path: Path) -> None:
    region = unique("导出省")
    now = datetime.now(UTC)
    rows = [
        await make_candidate(service, region=region, site=site, status=ReviewStatus.SUBMITTED,
                             submitted_at=now, queue_at=now, name=name)
        for site, name in (("济南", "张, \"伟\""), ("济南", "李娜"), ("青岛", "刘洋"))
    ]
    staff = await make_staff(service, region=region, site=None)
    examiner = await signed_in(service, staff.username)
    await examiner.execute(op.APPROVE, {"id": str(rows[0].id)})
    await examiner.execute(op.REJECT, {"id": str(rows[1].id), "reason": "证件过期\n请重新报名"})
    await examiner.aclose()

    code, out, err = await run_cli(service, "export-results", "--region", region, "--format", "csv")
    assert code == 0, err
    assert "已导出 3 名考生" in err
    exported = list(csv.DictReader(io.StringIO(out)))
    target = tmp_path / "results.jsonl"
    code, _, err = await run_cli(
        service, "export-results", "--region", region, "--format", "jsonl", "--output", str(target)
    )
    assert code == 0, err
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert lines == exported  # both formats carry the same rows

    with service.db():
        stored = {c.admission_no: c for c in await Candidate.filter(region=region)}
    assert [r["admission_no"] for r in exported] == sorted(stored)
    by_no = {r["admission_no"]: r for r in exported}
    first, second, third = (by_no[r.admission_no] for r in rows)
    assert first["name"] == "张, \"伟\"" and first["status"] == "APPROVED"
    assert first["decided_by"] == staff.name and first["decided_at"]
    assert second["status"] == "REJECTED" and second["note"] == "证件过期\n请重新报名"
    assert third["status"] == "SUBMITTED" and third["decided_at"] == "" and third["site"] == "青岛"
    assert datetime.fromisoformat(first["submitted_at"]) == stored[rows[0].admission_no].submitted_at

    code, out, _ = await run_cli(service, "export-results", "--region", region, "--site", "青岛", "--format", "jsonl")
    assert code == 0 and [json.loads(x)["admission_no"] for x in out.splitlines()] == [rows[2].admission_no]
    code, _, err = await run_cli(service, "export-results", "--region", region, "--format", "xml")
    assert code == 2 and "invalid choice" in err
