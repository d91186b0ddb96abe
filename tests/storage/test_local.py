"""storage/local.py: the local folder store, through the same interface production uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.base import ObjectMissing, open_store
from storage.local import LocalStore


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def leftovers(root: Path) -> list[Path]:
    return [p for p in files_under(root) if p.name.endswith(".partial")]


async def started(root: Path) -> LocalStore:
    store = LocalStore(root)
    await store.start()
    await store.start()  # safe to call again
    return store


async def test_put_get_overwrite_delete(tmp_path: Path) -> None:
    store = await started(tmp_path / "files")
    await store.put("pictures/7/a.jpg", b"first")
    assert await store.get("pictures/7/a.jpg") == b"first"
    assert (tmp_path / "files" / "pictures" / "7" / "a.jpg").read_bytes() == b"first"

    await store.put("pictures/7/a.jpg", b"second, longer")
    assert await store.get("pictures/7/a.jpg") == b"second, longer"
    await store.put("pictures/7/empty.png", b"")
    assert await store.get("pictures/7/empty.png") == b""

    await store.delete("pictures/7/a.jpg")
    with pytest.raises(ObjectMissing):
        await store.get("pictures/7/a.jpg")
    await store.delete("pictures/7/a.jpg")  # a missing key is not an error
    await store.delete("never/was/there.jpg")
    assert leftovers(tmp_path) == []


async def test_get_missing_raises_object_missing(tmp_path: Path) -> None:
    store = await started(tmp_path)
    with pytest.raises(ObjectMissing):
        await store.get("pictures/1/none.jpg")


async def test_scan_lists_every_key_with_its_time(tmp_path: Path) -> None:
    store = await started(tmp_path / "files")
    before = datetime.now(UTC) - timedelta(seconds=5)
    keys = {"pictures/1/a.jpg", "thumbnails/1/a.jpg", "examples/ID.jpg", "top.png"}
    for key in keys:
        await store.put(key, key.encode())
    scanned = [item async for item in store.scan()]
    assert {item.key for item in scanned} == keys
    for item in scanned:
        assert item.modified_at.tzinfo is not None
        assert before <= item.modified_at <= datetime.now(UTC) + timedelta(seconds=5)
    await store.delete("top.png")
    assert {item.key async for item in store.scan()} == keys - {"top.png"}


async def test_put_writes_atomically_and_leaves_no_partial_file(tmp_path: Path) -> None:
    store = await started(tmp_path)
    for round_ in range(20):
        await store.put("pictures/2/x.jpg", bytes([round_]) * 5000)
        assert await store.get("pictures/2/x.jpg") == bytes([round_]) * 5000
    assert leftovers(tmp_path) == []
    assert [p.name for p in (tmp_path / "pictures" / "2").iterdir()] == ["x.jpg"]


async def test_failed_put_leaves_no_partial_file_and_keeps_what_was_there(tmp_path: Path) -> None:
    store = await started(tmp_path)
    await store.put("pictures/3/inner/a.jpg", b"kept")
    # "pictures/3/inner" is a folder now: renaming a file over it fails after the temp write.
    with pytest.raises(OSError):
        await store.put("pictures/3/inner", b"cannot land")
    assert leftovers(tmp_path) == []
    assert await store.get("pictures/3/inner/a.jpg") == b"kept"
    assert {item.key async for item in store.scan()} == {"pictures/3/inner/a.jpg"}


@pytest.mark.parametrize(
    "key",
    [
        "../outside.jpg",
        "pictures/../../outside.jpg",
        "pictures/1/..",
        "..",
        "/etc/passwd",
        "/tmp/x.jpg",
        "pictures\\..\\x.jpg",
        "",
    ],
)
async def test_refuses_keys_that_could_leave_the_root(tmp_path: Path, key: str) -> None:
    root = tmp_path / "files"
    store = await started(root)
    with pytest.raises(ValueError):
        await store.put(key, b"escape")
    with pytest.raises(ValueError):
        await store.get(key)
    with pytest.raises(ValueError):
        await store.delete(key)
    # nothing was written anywhere under the test folder
    assert files_under(tmp_path) == []


def test_open_store_builds_a_local_store_from_a_file_url(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}/files")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "files"
    with pytest.raises(ValueError):
        open_store("ftp://example.invalid/bucket")
