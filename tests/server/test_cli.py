"""server/cli.py through the real console script `exam-review`, on a database of its own."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.security import hash_password, verify_password
from models.enums import Role
from resolvers.admin import (
    ImportFailed,
    ImportReport,
    add_staff_user,
    import_candidates,
    import_categories,
)
from schema import export_sdl
from server.database import database, migrate
from server.demo import (
    BLURRED_PHOTO,
    CANDIDATE_PASSWORD,
    CANDIDATES,
    SHARED_PHOTO,
    STAFF,
    STAFF_PASSWORD,
    SUBMITTED_PICTURES,
    SUBMITTED_USERNAMES,
)
from storage import open_store
from tests.helpers import operations as op
from tests.helpers.client import FilePart
from tests.helpers.pictures import gif, small_jpeg
from tests.helpers.service import STACK, start_service
from tests.helpers.service import test_settings as service_settings

# The CLI's own behaviour (arguments, exit codes, import rules, reports) does not depend on
# the engines, and these tests read the SQLite file and the picture folder directly.
# On the scale stack, tests/scale covers migrations on PostgreSQL and the sweep on S3.
pytestmark = pytest.mark.skipif(STACK != "default", reason="CLI tests run on the embedded default")

EXAM_REVIEW = Path(sys.executable).with_name("exam-review")
HEADER = (
    "username,password,password_hash,name,admission_no,exam_category_code,exam_category_name,"
    "region,site,stage,registered_at"
)


def cli(folder: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with settings that point into `folder`."""
    env = {
        **os.environ,
        "VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite://{folder}/exam-review.sqlite3",
        "STORAGE_URL": f"file://{folder}/files",
        "SECRET_KEY": "cli-test-secret",
        "BROKER_URL": "memory://",
    }
    return subprocess.run(
        [str(EXAM_REVIEW), *args],
        input=stdin, env=env, cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )


async def acli(folder: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, folder, *args, stdin=stdin)


def rows(folder: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(folder / "exam-review.sqlite3") as db:
        return db.execute(sql, params).fetchall()


@pytest.fixture
async def migrated(tmp_path: Path) -> Path:
    """A fresh folder whose database is migrated (in-process: the CLI's own test is below)."""
    await migrate(service_settings(tmp_path))
    return tmp_path


async def test_migrate_creates_the_tables_and_is_idempotent(tmp_path: Path) -> None:
    first = await acli(tmp_path, "migrate")
    assert first.returncode == 0, first.stderr
    assert "数据库已迁移到最新版本" in first.stdout
    tables = {name for (name,) in rows(tmp_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"candidate", "staff_user", "session", "material_category", "requirement_rule",
            "attachment", "review_message", "audit_entry", "login_failure"} <= tables
    again = await acli(tmp_path, "migrate")
    assert again.returncode == 0, again.stderr


def categories_file(folder: Path, **changes: Any) -> Path:
    (folder / "examples").mkdir(exist_ok=True)
    (folder / "examples" / "id.jpg").write_bytes(small_jpeg(1))
    data: dict[str, Any] = {
        "categories": [
            {
                "code": "ID", "name": "身份证明", "instructions": "正反面", "minCount": 1,
                "maxCount": 2, "maxBytes": 204800, "formats": ["jpeg", "png"],
                "example": "examples/id.jpg",
            },
            {"code": "EDU", "name": "学历证明"},
        ],
        "requirements": [
            {"category": "ID", "required": True, "region": "*", "site": "*", "examCategoryCode": "*"},
            {"category": "EDU", "required": False, "region": "山东省"},
        ],
    }
    data.update(changes)
    path = folder / "categories.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


CATEGORY_SQL = (
    "SELECT code, name, min_count, max_count, max_bytes, formats, example_key, position "
    "FROM material_category ORDER BY code"
)
RULE_SQL = (
    "SELECT c.code, r.region, r.site, r.exam_category_code, r.required FROM requirement_rule r "
    "JOIN material_category c ON c.id = r.category_id ORDER BY c.code, r.region"
)


async def test_import_categories_with_an_example_and_defaults(migrated: Path) -> None:
    result = await acli(migrated, "import-categories", str(categories_file(migrated)))
    assert result.returncode == 0, result.stderr
    assert "新增 2，更新 0" in result.stdout
    found = {r[0]: r for r in rows(migrated, CATEGORY_SQL)}
    assert found["ID"][1:5] == ("身份证明", 1, 2, 204800)
    assert json.loads(found["ID"][5]) == ["jpeg", "png"]
    assert found["ID"][6] == "examples/ID.jpg"
    assert (migrated / "files" / "examples" / "ID.jpg").read_bytes() == small_jpeg(1)
    # Defaults: minCount 1, maxCount 1, maxBytes 204800, both formats; order of the file.
    assert found["EDU"][2:5] == (1, 1, 204800) and json.loads(found["EDU"][5]) == ["jpeg", "png"]
    assert found["EDU"][6] is None
    assert found["ID"][7] < found["EDU"][7]
    assert rows(migrated, RULE_SQL) == [("EDU", "山东省", "*", "*", 0), ("ID", "*", "*", "*", 1)]


async def test_import_categories_with_refused_warnings(migrated: Path) -> None:
    path = categories_file(
        migrated,
        categories=[{"code": "EDU", "name": "学历证明", "refuseWarnings": ["GLARE", "BLURRY", "GLARE"]}],
        requirements=[],
    )
    assert (await acli(migrated, "import-categories", str(path))).returncode == 0
    (stored,) = rows(migrated, "SELECT refuse_warnings FROM material_category WHERE code = 'EDU'")
    assert json.loads(stored[0]) == ["BLURRY", "GLARE"]  # once each, in the enum's order


async def test_import_categories_is_idempotent(migrated: Path) -> None:
    path = categories_file(migrated)
    assert (await acli(migrated, "import-categories", str(path))).returncode == 0
    before = (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL))
    again = await acli(migrated, "import-categories", str(path))
    assert again.returncode == 0, again.stderr
    assert "新增 0，更新 2" in again.stdout
    assert (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL)) == before

    # An upsert by code: a changed name updates the row, nothing is duplicated.
    changed = categories_file(
        migrated, categories=[{"code": "EDU", "name": "最高学历证明", "maxCount": 3}], requirements=[]
    )
    assert (await acli(migrated, "import-categories", str(changed))).returncode == 0
    found = {r[0]: r for r in rows(migrated, CATEGORY_SQL)}
    assert len(found) == 2 and found["EDU"][1] == "最高学历证明" and found["EDU"][3] == 3


BAD_CATEGORY_FILES = pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"categories": [{"code": "ID", "name": "身份证明改名"}, {"code": "NEW", "name": "新", "maxCount": "two"}]},
         "maxCount 应为整数"),
        ({"categories": [{"code": "ID", "name": "身份证明改名"}, {"code": "NEW", "name": ""}]}, "name 不能为空"),
        ({"categories": [{"code": "ID", "name": "身份证明改名", "example": "examples/missing.jpg"}]},
         "无法读取"),
        ({"categories": [{"code": "ID", "name": "身份证明改名", "example": "examples/anim.gif"}]},
         "不是 jpg 或 png"),
        ({"categories": [{"code": "ID", "name": "身份证明改名", "formats": ["gif"]}]}, "formats"),
        ({"categories": [{"code": "ID", "name": "身份证明改名"}],
          "requirements": [{"category": "NOPE"}]}, "未知的材料类别"),
        ({"categories": [{"code": "ID", "name": "改名"}, {"code": "ID", "name": "重复"}]}, "重复"),
        ({"categories": [{"code": "ID", "name": "改名", "refuseWarnings": ["FUZZY"]}]}, "refuseWarnings"),
        ({"categories": [{"code": "ID", "name": "改名", "refuseWarnings": "BLURRY"}]}, "refuseWarnings"),
    ],
    ids=["not-an-integer", "empty-name", "missing-example", "gif-example", "bad-format",
         "unknown-category", "duplicate-code", "unknown-warning", "warnings-not-a-list"],
)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def import_in_process(folder: Path, path: Path) -> ImportReport:
    """The same code the command runs, without a process start (used to set up and for variants)."""
    settings = service_settings(folder)
    store = open_store(settings.storage_url)
    await store.start()
    async with database(settings):
        return await import_categories(read_json(path), path.parent, store)


async def test_bad_categories_file_writes_nothing(migrated: Path) -> None:
    await import_in_process(migrated, categories_file(migrated))
    before = (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL))
    bad = categories_file(
        migrated,
        categories=[{"code": "ID", "name": "身份证明改名"}, {"code": "NEW", "name": "新", "maxCount": "two"}],
    )
    result = await acli(migrated, "import-categories", str(bad))
    assert result.returncode != 0
    assert "categories[1]: maxCount 应为整数" in result.stderr
    assert "未导入任何内容" in result.stderr
    # Not even the good entry of the file (the new name of ID) was written.
    assert (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL)) == before


@BAD_CATEGORY_FILES
async def test_every_kind_of_bad_categories_file_is_refused_whole(
    migrated: Path, changes: dict[str, Any], expected: str
) -> None:
    await import_in_process(migrated, categories_file(migrated))
    (migrated / "examples" / "anim.gif").write_bytes(gif())
    before = (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL))
    listing = sorted(p.name for p in (migrated / "files" / "examples").iterdir())
    with pytest.raises(ImportFailed) as refused:
        await import_in_process(migrated, categories_file(migrated, **changes))
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems
    # Nothing written: no row, no rule, no example bytes.
    assert (rows(migrated, CATEGORY_SQL), rows(migrated, RULE_SQL)) == before
    assert sorted(p.name for p in (migrated / "files" / "examples").iterdir()) == listing


async def test_unreadable_categories_file(migrated: Path) -> None:
    (migrated / "broken.json").write_text("{not json", encoding="utf-8")
    result = await acli(migrated, "import-categories", str(migrated / "broken.json"))
    assert result.returncode != 0 and "无法读取" in result.stderr
    missing = await acli(migrated, "import-categories", str(migrated / "absent.json"))
    assert missing.returncode != 0
    assert rows(migrated, "SELECT count(*) FROM material_category") == [(0,)]


PREHASHED_PASSWORD = "hashed-pass-2026"


def candidates_csv(folder: Path) -> Path:
    prehashed = hash_password(PREHASHED_PASSWORD)
    lines = [
        HEADER,
        "alice,alice-pass-1,,张三,370101001,2020110,临床执业医师,山东省,济南,报名,2026-03-01T09:30:00",
        # line 3: a bad registered_at
        "bob,bob-pass-1,,李四,370101002,2020110,临床执业医师,山东省,济南,报名,yesterday",
        f'carol,,"{prehashed}",王五,370101003,2020110,临床执业医师,山东省,青岛,报名,2026-03-02T10:00:00+08:00',
        # line 5: no password at all
        "dave,,,赵六,370101004,2020110,临床执业医师,山东省,青岛,报名,2026-03-02T10:00:00",
        # line 6: an admission number that belongs to alice
        "erin,erin-pass-1,,钱七,370101001,2020110,临床执业医师,山东省,青岛,报名,2026-03-02T10:00:00",
        "frank,frank-pass-1,,孙八,370101006,2020120,中医执业医师,山东省,青岛,报名,2026-03-03 08:00:00",
    ]
    path = folder / "candidates.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


CANDIDATE_SQL = (
    "SELECT username, name, admission_no, exam_category_code, region, site, stage, status "
    "FROM candidate ORDER BY username"
)


async def test_import_candidates_reports_bad_rows_and_imports_the_good(migrated: Path) -> None:
    path = candidates_csv(migrated)
    result = await acli(migrated, "import-candidates", str(path))
    assert result.returncode != 0
    assert "新增 3，更新 0，失败 3" in result.stdout
    errors = result.stderr.splitlines()
    assert any(line.startswith("第 3 行") and "registered_at" in line for line in errors), errors
    assert any(line.startswith("第 5 行") and "password" in line for line in errors), errors
    assert any(line.startswith("第 6 行") and "370101001" in line for line in errors), errors

    stored = rows(migrated, CANDIDATE_SQL)
    assert [r[0] for r in stored] == ["alice", "carol", "frank"]
    assert stored[0] == ("alice", "张三", "370101001", "2020110", "山东省", "济南", "报名", "DRAFT")
    # Nothing of a bad row was written.
    assert rows(migrated, "SELECT count(*) FROM candidate WHERE username IN ('bob','dave','erin')") == [(0,)]

    hashes = dict(rows(migrated, "SELECT username, password_hash FROM candidate"))
    assert await verify_password(hashes["alice"], "alice-pass-1")
    assert not await verify_password(hashes["alice"], "bob-pass-1")
    # A password_hash column is stored as it is, and signs in with its password.
    assert await verify_password(hashes["carol"], PREHASHED_PASSWORD)
    assert all(h.startswith("$argon2") for h in hashes.values())


async def test_import_candidates_again_changes_nothing(migrated: Path) -> None:
    path = candidates_csv(migrated)
    assert (await acli(migrated, "import-candidates", str(path))).returncode != 0
    before = rows(migrated, CANDIDATE_SQL)
    again = await acli(migrated, "import-candidates", str(path))
    assert again.returncode != 0  # the same bad rows still fail
    assert "新增 0，更新 3，失败 3" in again.stdout
    assert rows(migrated, CANDIDATE_SQL) == before
    assert rows(migrated, "SELECT count(*), count(DISTINCT username) FROM candidate") == [(3, 3)]


async def test_import_candidates_updates_by_username(migrated: Path) -> None:
    first = migrated / "one.csv"
    first.write_text(
        HEADER + "\nalice,alice-pass-1,,张三,370101001,2020110,临床执业医师,山东省,济南,报名,2026-03-01T09:30:00\n",
        encoding="utf-8",
    )
    assert (await acli(migrated, "import-candidates", str(first))).returncode == 0
    first.write_text(
        HEADER + "\nalice,alice-pass-2,,张三丰,370101001,2020110,临床执业医师,山东省,青岛,报名,2026-03-01T09:30:00\n",
        encoding="utf-8",
    )
    result = await acli(migrated, "import-candidates", str(first))
    assert result.returncode == 0, result.stderr
    assert "新增 0，更新 1，失败 0" in result.stdout
    [(name, site, password_hash)] = rows(migrated, "SELECT name, site, password_hash FROM candidate")
    assert (name, site) == ("张三丰", "青岛")
    assert await verify_password(password_hash, "alice-pass-2")


async def test_import_candidates_with_a_bad_header_writes_nothing(migrated: Path) -> None:
    path = migrated / "bad-header.csv"
    path.write_text("username,name\nalice,张三\n", encoding="utf-8")
    result = await acli(migrated, "import-candidates", str(path))
    assert result.returncode != 0 and "第 1 行" in result.stderr
    assert rows(migrated, "SELECT count(*) FROM candidate") == [(0,)]


async def test_add_user_then_sign_in(migrated: Path) -> None:
    created = await acli(
        migrated, "add-user", "--role", "examiner", "--username", "jinan_reviewer",
        "--region", "山东省", "--site", "济南", "--name", "济南审核员", stdin="reviewer-pass-1\n",
    )
    assert created.returncode == 0, created.stderr
    assert "已创建" in created.stdout and "reviewer-pass-1" not in created.stdout
    admin = await acli(
        migrated, "add-user", "--role", "admin", "--username", "all_admin", "--region", "*",
        stdin="admin-pass-1\n",
    )
    assert admin.returncode == 0, admin.stderr
    stored = rows(migrated, "SELECT username, name, role, region, site FROM staff_user ORDER BY username")
    assert stored == [
        ("all_admin", "all_admin", "ADMIN", "*", None),
        ("jinan_reviewer", "济南审核员", "EXAMINER", "山东省", "济南"),
    ]

    # A new password replaces the old one.
    updated = await acli(
        migrated, "add-user", "--role", "examiner", "--username", "jinan_reviewer",
        "--region", "山东省", "--site", "济南", stdin="reviewer-pass-2\n",
    )
    assert updated.returncode == 0 and "已更新" in updated.stdout

    service = await start_service(service_settings(migrated))
    client = service.client()
    try:
        for password, expected in (("reviewer-pass-2", []), ("reviewer-pass-1", ["INVALID_CREDENTIALS"])):
            payload = (
                await client.execute(op.LOGIN, {"u": "jinan_reviewer", "p": password})
            ).payload("login")
            assert [e["code"] for e in payload["errors"]] == expected
        signed = (await client.execute(op.LOGIN, {"u": "all_admin", "p": "admin-pass-1"})).payload("login")
        assert signed["role"] == "ADMIN"
    finally:
        await client.aclose()
        await service.stop()


async def test_add_user_refusal_writes_nothing(migrated: Path) -> None:
    result = await acli(
        migrated, "add-user", "--role", "examiner", "--username", "short", "--region", "山东省",
        stdin="1234567\n",
    )
    assert result.returncode != 0
    assert "至少 8 个字符" in result.stderr
    assert rows(migrated, "SELECT count(*) FROM staff_user") == [(0,)]


@pytest.mark.parametrize(
    ("username", "password", "region", "expected"),
    [
        ("bad name!", "long-enough-1", "山东省", "用户名"),
        ("blank_region", "long-enough-1", " ", "region"),
        ("alice", "long-enough-1", "山东省", "已被考生使用"),
    ],
    ids=["bad-username", "blank-region", "a-candidates-username"],
)
async def test_add_user_refusals(
    migrated: Path, username: str, password: str, region: str, expected: str
) -> None:
    settings = service_settings(migrated)
    line = "alice,alice-pass-1,,张三,370101001,2020110,临床执业医师,山东省,济南,报名,2026-03-01T09:30:00"
    async with database(settings):
        assert (await import_candidates(f"{HEADER}\n{line}\n", ZoneInfo("Asia/Shanghai"))).ok
        with pytest.raises(ImportFailed) as refused:
            await add_staff_user(Role.EXAMINER, username, password, region, None, None)
    assert any(expected in problem for problem in refused.value.problems), refused.value.problems
    assert rows(migrated, "SELECT count(*) FROM staff_user") == [(0,)]


async def test_demo_prints_the_accounts_and_loads_once(tmp_path: Path) -> None:
    first = await acli(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "已载入演示数据" in first.stdout
    for username, *_ in CANDIDATES:
        assert username in first.stdout
    for _, username, *_ in STAFF:
        assert username in first.stdout
    assert CANDIDATE_PASSWORD in first.stdout and STAFF_PASSWORD in first.stdout
    counts = rows(
        tmp_path,
        "SELECT (SELECT count(*) FROM candidate), (SELECT count(*) FROM staff_user),"
        " (SELECT count(*) FROM material_category), (SELECT count(*) FROM requirement_rule)",
    )
    assert counts == [(len(CANDIDATES), len(STAFF), 4, 4)]
    names = {code: name for code, name in rows(tmp_path, "SELECT code, name FROM material_category")}
    assert names["ID"] == "身份证明" and names["ASSISTANT_CERT"] == "执业助理医师资格证书"
    # Some candidates already wait in the queue, each with every required picture stored.
    waiting = rows(
        tmp_path,
        "SELECT c.username, count(a.id) FROM candidate c JOIN attachment a ON a.candidate_id = c.id"
        " WHERE c.status = 'SUBMITTED' GROUP BY c.username",
    )
    assert sorted(waiting) == sorted((u, len(SUBMITTED_PICTURES)) for u in SUBMITTED_USERNAMES)
    for key, sha256 in rows(tmp_path, "SELECT storage_key, sha256 FROM attachment"):
        assert hashlib.sha256((tmp_path / "files" / key).read_bytes()).hexdigest() == sha256

    again = await acli(tmp_path, "demo")
    assert again.returncode == 0
    assert "未重复载入" in again.stdout
    assert rows(
        tmp_path,
        "SELECT (SELECT count(*) FROM candidate), (SELECT count(*) FROM staff_user),"
        " (SELECT count(*) FROM material_category), (SELECT count(*) FROM requirement_rule)",
    ) == counts
    # The demo accounts sign in with the printed passwords.
    hashes = dict(rows(tmp_path, "SELECT username, password_hash FROM candidate"))
    assert await verify_password(hashes[CANDIDATES[0][0]], CANDIDATE_PASSWORD)


async def test_the_demo_pictures_carry_real_measures_fingerprints_and_the_two_flags(
    tmp_path: Path,
) -> None:
    """The demo's pictures go through the upload's check, measures and fingerprints, so the
    workbench shows what it would for real uploads: one 模糊 badge and one 相似照片 pair."""
    assert (await acli(tmp_path, "demo")).returncode == 0
    pictures = rows(
        tmp_path,
        "SELECT c.username, a.id, a.sharpness, a.brightness, a.glare, a.quality_warnings,"
        " f.phash FROM attachment a JOIN candidate c ON c.id = a.candidate_id"
        " LEFT JOIN picture_fingerprint f ON f.attachment_id = a.id ORDER BY a.uploaded_at",
    )
    assert len(pictures) == len(SUBMITTED_USERNAMES) * len(SUBMITTED_PICTURES)
    index = {u: 0 for u in SUBMITTED_USERNAMES}
    by_picture = {}
    for username, attachment_id, sharpness, brightness, glare, warnings, phash in pictures:
        assert None not in (sharpness, brightness, glare, phash), (username, attachment_id)
        by_picture[(username, index[username])] = attachment_id
        index[username] += 1
        expected = ["BLURRY"] if (username, index[username] - 1) == BLURRED_PHOTO else []
        assert json.loads(warnings) == expected, (username, index[username] - 1)
    # Exactly one look-alike pair, kept in both directions: the photo two candidates sent.
    first, second = (by_picture[p] for p in SHARED_PHOTO)
    pairs = rows(tmp_path, "SELECT attachment_id, other_attachment_id FROM lookalike_pair")
    assert sorted(pairs) == sorted([(first, second), (second, first)])

    # What 济南's examiner sees of the candidate who sent both.
    service = await start_service(service_settings(tmp_path))
    client = service.client()
    try:
        examiner = await client.login("jinan_kaowu", STAFF_PASSWORD)
        owner = rows(tmp_path, f"SELECT id FROM candidate WHERE username = '{BLURRED_PHOTO[0]}'")
        shown = (await examiner.execute(op.CANDIDATE_LOOKALIKES, {"id": str(owner[0][0])})).payload(
            "candidate"
        )
        flagged = {
            a["id"]: (a["lookalikeCount"], [x["candidateName"] for x in a["lookalikes"]])
            for m in shown["materials"] for a in m["attachments"]
        }
        sharer = next(name for u, name, *_ in CANDIDATES if u == SHARED_PHOTO[0][0])
        assert flagged[second] == (1, [sharer])
        assert sum(count for count, _ in flagged.values()) == 1
        me = (await examiner.execute(CANDIDATE_QUALITY, {"id": str(owner[0][0])})).payload("candidate")
        warned = {
            a["id"]: a["quality"]["warnings"] for m in me["materials"] for a in m["attachments"]
        }
        assert warned[by_picture[BLURRED_PHOTO]] == ["BLURRY"]
        assert sum(len(w) for w in warned.values()) == 1
        await examiner.aclose()
    finally:
        await client.aclose()
        await service.stop()


CANDIDATE_QUALITY = """
query($id: ID!) {
  candidate(id: $id) { materials { attachments { id quality { warnings } } } }
}
"""


async def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schema.graphql"
    target.parent.mkdir()
    result = await acli(tmp_path, "export-schema", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert str(target) in result.stdout
    assert target.read_text(encoding="utf-8") == export_sdl()


def _age(path: Path, seconds: float) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


async def test_sweep_removes_old_orphans_and_keeps_referenced_files(tmp_path: Path) -> None:
    assert (await acli(tmp_path, "demo")).returncode == 0
    # One real upload, so an attachment row names a picture and its thumbnail.
    service = await start_service(service_settings(tmp_path))
    client = service.client()
    try:
        signed = await client.login(CANDIDATES[0][0], CANDIDATE_PASSWORD)
        categories = (await signed.execute(op.CATEGORIES)).payload("categories")
        id_card = next(c["id"] for c in categories if c["code"] == "ID")
        uploaded = await signed.upload(
            op.UPLOAD, {"categoryId": id_card}, {"file": FilePart("p.jpg", small_jpeg(2), "image/jpeg")}
        )
        assert uploaded.payload("uploadAttachment")["errors"] == []
        await signed.aclose()
    finally:
        await client.aclose()
        await service.stop()

    files = tmp_path / "files"
    referenced = sorted(p for p in files.rglob("*") if p.is_file())
    assert any("pictures" in p.parts for p in referenced)
    assert any("thumbnails" in p.parts for p in referenced)
    assert any("examples" in p.parts for p in referenced)
    for path in referenced:
        _age(path, 7200)  # old, yet referenced: must stay
    old_orphan = files / "pictures" / "999" / "lost.jpg"
    old_orphan.parent.mkdir(parents=True)
    old_orphan.write_bytes(small_jpeg(3))
    _age(old_orphan, 7200)
    fresh_orphan = files / "thumbnails" / "999" / "fresh.jpg"
    fresh_orphan.parent.mkdir(parents=True)
    fresh_orphan.write_bytes(b"fresh")

    dry = await acli(tmp_path, "sweep", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "pictures/999/lost.jpg" in dry.stdout and old_orphan.exists()

    # Default grace (an hour): the old orphan goes, the fresh one waits.
    graced = await acli(tmp_path, "sweep")
    assert graced.returncode == 0, graced.stderr
    assert not old_orphan.exists() and fresh_orphan.exists()
    assert "近期写入暂不处理 1" in graced.stdout

    swept = await acli(tmp_path, "sweep", "--grace-seconds", "0")
    assert swept.returncode == 0, swept.stderr
    assert "thumbnails/999/fresh.jpg" in swept.stdout
    assert not fresh_orphan.exists()
    assert all(p.exists() for p in referenced)
