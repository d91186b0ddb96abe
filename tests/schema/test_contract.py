"""The served schema keeps the public contract, and the committed SDL is not stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from schema import SDL_PATH, export_sdl

REPO = Path(__file__).resolve().parents[2]
# The contract lives beside the project (../shared/contract). A copy is kept in the tests, so the
# check runs wherever the project is cloned; where the original is present, the copy must equal it.
SHARED = REPO.parent / "shared" / "contract"
COPY = Path(__file__).resolve().parent / "contract"
CONTRACT_FILES = ("check.py", "schema.graphql", "additions.graphql")
HERE = SHARED if (SHARED / "check.py").is_file() else COPY
CHECK = HERE / "check.py"
CONTRACT = HERE / "schema.graphql"


def run_check(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), *map(str, args)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )


def test_committed_schema_keeps_the_contract() -> None:
    checked = run_check("schema/schema.graphql")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "0 breaking change(s)" in checked.stdout


def test_served_schema_keeps_the_contract(tmp_path: Path) -> None:
    served = tmp_path / "served.graphql"
    served.write_text(export_sdl(), encoding="utf-8")
    checked = run_check(served)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_served_schema_keeps_the_additions(tmp_path: Path) -> None:
    """Claims, picture quality, look-alikes, queue position and the access log, exactly as written."""
    served = tmp_path / "served.graphql"
    served.write_text(export_sdl(), encoding="utf-8")
    for sdl in (served, REPO / "schema" / "schema.graphql"):
        checked = run_check(sdl, "--with-additions")
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "0 breaking change(s)" in checked.stdout


def test_the_check_catches_a_breaking_change(tmp_path: Path) -> None:
    """The check is not vacuous: a removed field and a retyped argument fail it."""
    sdl = export_sdl()
    assert "  unreadMessageCount: Int!\n" in sdl
    broken = tmp_path / "broken.graphql"
    broken.write_text(
        sdl.replace("  unreadMessageCount: Int!\n", "", 1).replace(
            "candidateByAdmissionNo(admissionNo: String!)", "candidateByAdmissionNo(admissionNo: Int!)", 1
        ),
        encoding="utf-8",
    )
    checked = run_check(broken)
    assert checked.returncode == 1
    assert "unreadMessageCount" in checked.stdout
    assert "admissionNo" in checked.stdout


def test_committed_sdl_is_not_stale() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    assert export_sdl() == committed, (
        "schema/schema.graphql is stale: run `.venv/bin/exam-review export-schema` and commit it"
    )


def test_every_contract_type_is_served() -> None:
    from graphql import build_schema

    contract = build_schema(CONTRACT.read_text(encoding="utf-8"))
    served = build_schema(export_sdl())
    missing = [name for name in contract.type_map if name not in served.type_map]
    assert missing == []


@pytest.mark.skipif(not (SHARED / "check.py").is_file(), reason=f"no shared contract at {SHARED}")
@pytest.mark.parametrize("name", CONTRACT_FILES)
def test_the_copy_of_the_contract_is_current(name: str) -> None:
    assert (COPY / name).read_bytes() == (SHARED / name).read_bytes(), (
        f"tests/schema/contract/{name} differs from ../shared/contract/{name}: copy it again"
    )
