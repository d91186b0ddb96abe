"""The lock message is written in Beijing time by a real server process whose clock zone is UTC.

Tortoise writes TIMEZONE=UTC into os.environ when it connects; settings read after that
wrote 「… 上报完成，内容已锁定。」 eight hours off. The CLI now reads settings once, first.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import operations as op
from tests.helpers.client import GraphQLClient
from tests.helpers.processes import EXAM_REVIEW, ServerProcess
from tests.helpers.service import STACK

pytestmark = pytest.mark.skipif(STACK != "default", reason="default settings: the embedded stack")

LOCK = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) 上报完成，内容已锁定。$")


def utc_process_env(folder: Path) -> dict[str, str]:
    """Default settings (nothing but the folder set), on a machine whose clock zone is UTC."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "STORAGE_", "BROKER_"))}
    env.pop("TIMEZONE", None)
    env.update(TZ="UTC", VAR_DIR=str(folder), THROTTLE_PER_ADDRESS="1000")
    return env


async def test_lock_message_is_beijing_time_under_default_settings(tmp_path: Path) -> None:
    env = utc_process_env(tmp_path)
    csv = tmp_path / "candidates.csv"
    csv.write_text(
        "username,password,name,admission_no,exam_category_code,exam_category_name,region,site,stage,registered_at\n"
        "tz_cand,tz-pass-2026,时区考生,TZ0001,2020110,临床执业医师,山东省,济南,报名,2026-03-01T09:30:00\n",
        encoding="utf-8",
    )
    for args in (["migrate"], ["import-candidates", str(csv)]):
        done = await asyncio.to_thread(
            subprocess.run,
            [EXAM_REVIEW, *args], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=120, check=False,
        )
        assert done.returncode == 0, done.stderr

    server = await ServerProcess.serve(env, tmp_path).started()
    try:
        anonymous = GraphQLClient(server.url)
        client = await anonymous.login("tz_cand", "tz-pass-2026")
        await anonymous.aclose()
        profile = await client.execute(op.UPDATE_PROFILE, {"phone": "13800138000", "address": "济南市历下区"})
        assert profile.payload("updateProfile")["errors"] == []
        submitted = (await client.execute(op.SUBMIT)).payload("submitForReview")
        await client.aclose()
    finally:
        await server.stop()

    assert submitted["errors"] == []
    me = submitted["candidate"]
    lock = next(m for m in me["messages"] if m["kind"] == "SYSTEM")
    match = LOCK.match(lock["body"])
    assert match, lock["body"]
    year, month, day, hour, minute, second = map(int, match.groups())
    written = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo("Asia/Shanghai"))
    created = datetime.fromisoformat(lock["createdAt"])
    assert created.tzinfo is not None
    # The words name the very second the message was written, read in Beijing time.
    assert written == created.replace(microsecond=0)
    assert datetime.fromisoformat(me["submittedAt"]).replace(microsecond=0) == written
