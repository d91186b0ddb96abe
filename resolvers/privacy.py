"""Personal-data duties of the CLI: keep pictures only as long as needed, and hand a candidate
everything stored about them.

Purge removes the pictures (originals and thumbnails), the phone and the address of candidates
decided before a date. Decisions, messages, the audit log and the counts of what was there stay.
Each candidate is done in two steps: the bytes go first, then one transaction deletes the rows,
clears the profile and writes the candidate's RetentionPurge row. A crash between the two leaves
rows naming bytes that are gone; the candidate has no RetentionPurge row yet, so the next run
takes it up again and finishes it (deleting what is already gone is not an error).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Subquery

from core.clock import utcnow
from models import (
    Attachment,
    AttachmentReasons,
    AuditEntry,
    Candidate,
    MaterialCategory,
    OutboxMessage,
    RetentionPurge,
    ReviewMessage,
)
from models.enums import AuditAction
from models.notifications import OutboxKind, OutboxStatus
from resolvers.locking import candidate_for_update
from storage.base import ObjectMissing, PictureStore

DECISIONS = (AuditAction.APPROVE, AuditAction.REJECT)
BATCH = 200


@dataclass(frozen=True)
class PurgedCandidate:
    admission_no: str
    name: str
    status: str
    decided_at: datetime
    # Category code -> pictures removed.
    pictures: dict[str, int]
    picture_bytes: int
    phone_removed: bool
    address_removed: bool

    @property
    def picture_count(self) -> int:
        return sum(self.pictures.values())


@dataclass
class PurgeReport:
    candidates: list[PurgedCandidate] = field(default_factory=list)

    @property
    def pictures(self) -> int:
        return sum(c.picture_count for c in self.candidates)

    @property
    def picture_bytes(self) -> int:
        return sum(c.picture_bytes for c in self.candidates)

    @property
    def phones(self) -> int:
        return sum(c.phone_removed for c in self.candidates)

    @property
    def addresses(self) -> int:
        return sum(c.address_removed for c in self.candidates)


async def decided_before(cutoff: datetime) -> AsyncIterator[tuple[int, datetime]]:
    """(candidate id, decided at) of candidates decided before `cutoff` and not yet purged.

    APPROVED and REJECTED are final, so each candidate has at most one decision entry.
    """
    purged = Subquery(RetentionPurge.all().values("candidate_id"))
    after = 0
    while True:
        rows = (
            await AuditEntry.filter(action__in=DECISIONS, at__lt=cutoff, id__gt=after)
            .exclude(candidate_id__in=purged)
            .order_by("id")
            .limit(BATCH)
            .values_list("id", "candidate_id", "at")
        )
        for _, candidate_id, at in rows:
            yield int(candidate_id), at
        if len(rows) < BATCH:
            return
        after = int(rows[-1][0])


async def purge_decided(
    store: PictureStore, cutoff: datetime, dry_run: bool = False
) -> AsyncIterator[PurgedCandidate]:
    """Purge (or, dry, only describe) every candidate decided before `cutoff`, one at a time."""
    codes = {c.id: c.code for c in await MaterialCategory.all()}
    async for candidate_id, decided_at in decided_before(cutoff):
        purged = await _purge_one(store, candidate_id, decided_at, codes, dry_run)
        if purged is not None:
            yield purged


async def _purge_one(
    store: PictureStore, candidate_id: int, decided_at: datetime, codes: dict[int, str], dry_run: bool
) -> PurgedCandidate | None:
    candidate = await Candidate.get(id=candidate_id)
    attachments = await Attachment.filter(candidate_id=candidate_id)
    pictures: dict[str, int] = {}
    for attachment in attachments:
        code = codes.get(attachment.category_id, str(attachment.category_id))
        pictures[code] = pictures.get(code, 0) + 1
    purged = PurgedCandidate(
        admission_no=candidate.admission_no,
        name=candidate.name,
        status=candidate.status.value,
        decided_at=decided_at,
        pictures=pictures,
        picture_bytes=sum(a.byte_size for a in attachments),
        phone_removed=bool(candidate.phone),
        address_removed=bool(candidate.address),
    )
    if dry_run:
        return purged
    for attachment in attachments:
        await store.delete(attachment.storage_key)
        await store.delete(attachment.thumbnail_key)
    async with candidate_for_update(candidate_id) as locked:
        if await RetentionPurge.exists(candidate_id=locked.id):
            return None  # another run finished it meanwhile
        ids = [a.id for a in attachments]
        await AttachmentReasons.filter(attachment_id__in=ids).delete()
        await Attachment.filter(candidate_id=locked.id).delete()
        await Candidate.filter(id=locked.id).update(phone=None, address=None)
        # Sent SMS name the phone too; one still queued keeps it until it is sent.
        await OutboxMessage.filter(
            candidate_id=locked.id, kind=OutboxKind.SMS, status__not=OutboxStatus.QUEUED
        ).update(target="")
        await RetentionPurge.create(
            candidate_id=locked.id,
            decided_at=decided_at,
            purged_at=utcnow(),
            pictures=pictures,
            picture_count=purged.picture_count,
            byte_count=purged.picture_bytes,
            phone_removed=purged.phone_removed,
            address_removed=purged.address_removed,
        )
    return purged


# Export ---------------------------------------------------------------------------------------


class ExportRefused(Exception):
    """Nothing was written; the message (Chinese) says why."""


def _local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).isoformat() if moment else None


def _extension(content_type: str) -> str:
    return "png" if content_type == "image/png" else "jpg"


async def export_candidate(
    store: PictureStore, admission_no: str, output: Path, tz: ZoneInfo
) -> dict[str, int]:
    """Write one candidate's profile, messages, history and pictures into a zip at `output`.

    Written to a temporary name beside it and renamed, so a half-written file never appears
    under the asked name. Returns what went in.
    """
    candidate = await Candidate.get_or_none(admission_no=admission_no.strip())
    if candidate is None:
        raise ExportRefused(f"没有准考证号为「{admission_no}」的考生。")
    partial = output.with_name(output.name + ".partial")
    try:
        handle = partial.open("wb")
    except OSError as exc:
        raise ExportRefused(f"无法写入 {output}：{exc.strerror or exc}。") from exc
    counts = {"messages": 0, "history": 0, "pictures": 0, "missing_pictures": 0}
    try:
        with handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            await _write_export(archive, store, candidate, tz, counts)
        os.replace(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


def _json(archive: zipfile.ZipFile, name: str, value: Any) -> None:
    archive.writestr(name, json.dumps(value, ensure_ascii=False, indent=2) + "\n")


async def _write_export(
    archive: zipfile.ZipFile,
    store: PictureStore,
    candidate: Candidate,
    tz: ZoneInfo,
    counts: dict[str, int],
) -> None:
    archive.writestr("说明.txt", (
        f"考生 {candidate.name}（准考证号 {candidate.admission_no}）在在线审核系统中保存的全部信息，"
        f"导出于 {_local(utcnow(), tz)}。\n"
        "profile.json：报名信息与联系方式（retention_purge 为按保存期限清理的记录）\n"
        "messages.json：审核消息与反馈\n"
        "history.json：审核记录（谁在何时做了什么）\n"
        "pictures.json 与 pictures/：上传的图片原件（file 为空表示图片文件已不存在）\n"
    ))
    purge = await RetentionPurge.get_or_none(candidate_id=candidate.id)
    _json(archive, "profile.json", {
        "admission_no": candidate.admission_no,
        "username": candidate.username,
        "name": candidate.name,
        "exam_category_code": candidate.exam_category_code,
        "exam_category_name": candidate.exam_category_name,
        "region": candidate.region,
        "site": candidate.site,
        "stage": candidate.stage,
        "registered_at": _local(candidate.registered_at, tz),
        "activated_at": _local(candidate.activated_at, tz),
        "phone": candidate.phone,
        "address": candidate.address,
        "status": candidate.status.value,
        "submitted_at": _local(candidate.submitted_at, tz),
        "returned_at": _local(candidate.returned_at, tz),
        "reply_deadline": _local(candidate.reply_deadline, tz),
        "retention_purge": None if purge is None else {
            "decided_at": _local(purge.decided_at, tz),
            "purged_at": _local(purge.purged_at, tz),
            "pictures_removed": purge.pictures,
            "phone_removed": purge.phone_removed,
            "address_removed": purge.address_removed,
        },
    })
    messages = await ReviewMessage.filter(candidate_id=candidate.id).order_by("id")
    _json(archive, "messages.json", [
        {
            "kind": m.kind.value,
            "body": m.body,
            "author_name": m.author_name,
            "created_at": _local(m.created_at, tz),
            "read_at": _local(m.read_at, tz),
        }
        for m in messages
    ])
    counts["messages"] = len(messages)
    history = await AuditEntry.filter(candidate_id=candidate.id).order_by("id")
    _json(archive, "history.json", [
        {
            "at": _local(e.at, tz),
            "action": e.action.value,
            "actor_role": e.actor_role.value if e.actor_role else None,
            "actor_name": e.actor_name,
            "from_status": e.from_status.value,
            "to_status": e.to_status.value,
            "note": e.note,
            "attachment_id": e.attachment_id,
        }
        for e in history
    ])
    counts["history"] = len(history)
    categories = {c.id: c for c in await MaterialCategory.all()}
    manifest = []
    for attachment in await Attachment.filter(candidate_id=candidate.id).order_by("category_id", "slot"):
        category = categories[attachment.category_id]
        name = f"pictures/{category.code}-{attachment.slot + 1}-{str(attachment.id)[:8]}.{_extension(attachment.content_type)}"
        try:
            archive.writestr(name, await store.get(attachment.storage_key))
            counts["pictures"] += 1
        except ObjectMissing:
            name, counts["missing_pictures"] = "", counts["missing_pictures"] + 1
        manifest.append({
            "file": name or None,
            "category": category.name,
            "slot": attachment.slot + 1,
            "content_type": attachment.content_type,
            "byte_size": attachment.byte_size,
            "width": attachment.width,
            "height": attachment.height,
            "sha256": attachment.sha256,
            "uploaded_at": _local(attachment.uploaded_at, tz),
            "verdict": attachment.verdict.value,
            "verdict_note": attachment.verdict_note,
        })
    _json(archive, "pictures.json", manifest)
