"""`exam-review purge` and `exam-review export-candidate` on the demo data, and their refusals."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from server.demo import CANDIDATE_PASSWORD, STAFF_PASSWORD
from tests.helpers import operations as op
from tests.helpers.client import GraphQLClient
from tests.helpers.commands import CLI_SECRET, run_cli
from tests.helpers.flows import fetch, fill_required, submit
from tests.helpers.service import STACK, start_service

# The commands read the SQLite file and the picture folder of one folder; tests/resolvers/
# test_privacy.py runs the purge itself on both stacks.
pytestmark = pytest.mark.skipif(STACK != "default", reason="CLI tests run on the embedded default")

ZHANGWEI = "370101202011001"


def rows(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "exam-review.sqlite3") as db:
        return db.execute(sql).fetchall()


def exports(folder: Path) -> list[Path]:
    return list(folder.rglob("*.zip*"))


def stored(folder: Path) -> set[str]:
    root = folder / "files"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


async def demo_flow(folder: Path) -> None:
    """The demo, then 张伟 fills in phone and address, uploads and submits, the 济南 examiner opens a picture and approves."""
    assert (await run_cli(folder, "demo")).returncode == 0
    settings = Settings(
        database_url=f"sqlite://{folder}/exam-review.sqlite3",
        storage_url=f"file://{folder}/files",
        secret_key=CLI_SECRET,
        var_dir=folder,
        sms_sender_enabled=False,
    )
    service = await start_service(settings)
    anonymous = service.client()
    try:
        candidate = await anonymous.login("zhangwei", CANDIDATE_PASSWORD)
        profile = await candidate.execute(
            op.UPDATE_PROFILE, {"phone": "13912345678", "address": "山东省济南市历下区泉城路 1 号"}
        )
        assert profile.payload("updateProfile")["errors"] == []
        await fill_required(candidate)
        await submit(candidate)
        examiner: GraphQLClient = await anonymous.login("jinan_kaowu", STAFF_PASSWORD)
        found = await examiner.execute(op.BY_ADMISSION_NO, {"no": ZHANGWEI})
        assert found.data is not None
        candidate_id = found.data["candidateByAdmissionNo"]["id"]
        seen = await examiner.execute(op.CANDIDATE, {"id": candidate_id})
        assert seen.data is not None
        url = seen.data["candidate"]["materials"][0]["attachments"][0]["url"]
        assert (await fetch(url)).status_code == 200
        approved = await examiner.execute(op.APPROVE, {"id": candidate_id})
        assert approved.payload("approveCandidate")["errors"] == []
        for client in (candidate, examiner):
            await client.aclose()
    finally:
        await anonymous.aclose()
        await service.stop()


def read_export(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        documents = {n: json.loads(archive.read(n)) for n in names if n.endswith(".json")}
        pictures = {n: archive.read(n) for n in names if n.startswith("pictures/")}
        assert "说明.txt" in names
    return documents, pictures


async def test_purge_and_export_on_the_demo_data(tmp_path: Path) -> None:
    await demo_flow(tmp_path)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()

    exported = await run_cli(tmp_path, "export-candidate", "--admission-no", ZHANGWEI, "--output", "zhangwei.zip")
    assert exported.returncode == 0, exported.stderr
    assert "已导出到 zhangwei.zip：报名信息，消息 2 条" in exported.stdout
    documents, pictures = read_export(tmp_path / "zhangwei.zip")
    profile = documents["profile.json"]
    assert (profile["name"], profile["status"], profile["retention_purge"]) == ("张伟", "APPROVED", None)
    assert profile["phone"] and profile["address"]
    assert profile["registered_at"].endswith("+08:00")  # Beijing time
    assert [m["kind"] for m in documents["messages.json"]] == ["SYSTEM", "APPROVED"]
    assert [e["action"] for e in documents["history.json"]][-2:] == ["SUBMIT", "APPROVE"]
    manifest = documents["pictures.json"]
    assert len(manifest) == len(pictures) == 4
    for entry in manifest:
        assert hashlib.sha256(pictures[entry["file"]]).hexdigest() == entry["sha256"]

    files_before = stored(tmp_path)
    dry = await run_cli(tmp_path, "purge", "--decided-before", tomorrow, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"将清理 {ZHANGWEI} 张伟（审核通过，" in dry.stdout
    assert "将清理 1 名考生：图片 4 张（原图与缩略图共 8 个文件" in dry.stdout
    assert "（演练：未作任何改动）" in dry.stdout
    assert stored(tmp_path) == files_before

    done = await run_cli(tmp_path, "purge", "--decided-before", tomorrow)
    assert done.returncode == 0, done.stderr
    assert f"已清理 {ZHANGWEI} 张伟" in done.stdout and "图片 4 张" in done.stdout
    assert "电话 1 个，地址 1 个。" in done.stdout
    # 张伟's pictures and thumbnails are gone; the undecided demo candidates keep theirs.
    [(zhangwei_id,)] = rows(tmp_path, f"SELECT id FROM candidate WHERE admission_no = '{ZHANGWEI}'")
    left = stored(tmp_path)
    assert not [k for k in left if k.startswith((f"pictures/{zhangwei_id}/", f"thumbnails/{zhangwei_id}/"))]
    assert left == {k for k in files_before if k.split("/")[1:2] != [str(zhangwei_id)]}
    assert rows(tmp_path, f"SELECT phone, address, status FROM candidate WHERE admission_no = '{ZHANGWEI}'") == [
        (None, None, "APPROVED")
    ]
    assert rows(tmp_path, "SELECT COUNT(*) FROM picture_access") == [(1,)]  # the log outlives the picture

    again = await run_cli(tmp_path, "purge", "--decided-before", tomorrow)
    assert again.returncode == 0
    assert "没有需要清理的考生" in again.stdout
    print("\n" + exported.stdout + dry.stdout + done.stdout + again.stdout)

    after = await run_cli(tmp_path, "export-candidate", "--admission-no", ZHANGWEI, "--output", "after.zip")
    assert after.returncode == 0, after.stderr
    documents, pictures = read_export(tmp_path / "after.zip")
    assert documents["pictures.json"] == [] and pictures == {}
    assert documents["profile.json"]["phone"] is None
    assert documents["profile.json"]["retention_purge"]["pictures_removed"] == {"ID": 2, "EDU": 1, "PROBATION": 1}
    assert [e["action"] for e in documents["history.json"]][-2:] == ["SUBMIT", "APPROVE"]


@pytest.fixture(scope="module")
async def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data, loaded once for the refusals (which must leave it as it is)."""
    folder = tmp_path_factory.mktemp("demo")
    assert (await run_cli(folder, "demo")).returncode == 0
    return folder


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["purge", "--decided-before", "2026-13-01"], 2, "日期格式不正确：「2026-13-01」，应为 YYYY-MM-DD"),
        (["purge", "--decided-before", "1.9.2026"], 2, "日期格式不正确"),
        (["purge", "--decided-before", "2999-01-01"], 2, "截止日期 2999-01-01 晚于明天"),
        (["export-candidate", "--admission-no", "000", "--output", "x.zip"], 1, "没有准考证号为「000」的考生。"),
        (
            ["export-candidate", "--admission-no", ZHANGWEI, "--output", "missing/folder/x.zip"],
            1,
            "无法写入 missing/folder/x.zip：No such file or directory",
        ),
    ],
    ids=["bad-date", "not-iso", "future", "unknown-candidate", "unwritable-output"],
)
async def test_refusals_are_clear_and_change_nothing(
    demo_folder: Path, args: list[str], code: int, message: str
) -> None:
    files_before = stored(demo_folder)
    refused = await run_cli(demo_folder, *args)
    assert refused.returncode == code, refused.stdout + refused.stderr
    assert message in refused.stderr
    assert stored(demo_folder) == files_before
    assert not exports(demo_folder)  # no export, not even a partial one
