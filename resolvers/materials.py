"""Uploading and deleting pictures, and what a candidate's materials look like now."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tortoise.exceptions import IntegrityError

from core.clock import utcnow
from core.context import Context
from core.errors import ErrorCode, Rejected, Unavailable, not_found
from core.ids import parse_int_id, parse_uuid
from models import Attachment, Candidate, MaterialCategory
from models.enums import AttachmentVerdict, AuditAction, QualityWarning, ReviewStatus
from resolvers import lookalikes
from resolvers.audit import write_audit
from resolvers.auth import require_candidate
from resolvers.locking import candidate_for_update
from resolvers.requirements import Requirement, requirements_for
from storage.base import StoreUnavailable
from storage.images import Picture, PictureRefused, PictureRules, inspect_picture

# How the page and the refusals name each warning (照片可能模糊／过暗／过亮／有反光).
WARNING_WORDS = {
    QualityWarning.BLURRY: "模糊",
    QualityWarning.TOO_DARK: "过暗",
    QualityWarning.OVEREXPOSED: "过亮",
    QualityWarning.GLARE: "有反光",
}


@runtime_checkable
class UploadedFile(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class MaterialView:
    requirement: Requirement
    attachments: list[Attachment]
    remaining: int
    locked: bool


def attachment_locked(candidate: Candidate, attachment: Attachment) -> bool:
    if attachment.verdict == AttachmentVerdict.ACCEPTED and candidate.status != ReviewStatus.DRAFT:
        return True
    return not candidate.category_unlocked(attachment.category_id)


async def materials_of(ctx: Context, candidate: Candidate) -> list[MaterialView]:
    requirements = requirements_for(await ctx.catalog(), candidate)
    by_category: dict[int, list[Attachment]] = {}
    for attachment in await Attachment.filter(candidate_id=candidate.id).order_by("slot"):
        by_category.setdefault(attachment.category_id, []).append(attachment)
    views = []
    for requirement in requirements:
        category = requirement.category
        pictures = by_category.get(category.id, [])
        locked = not candidate.category_unlocked(category.id)
        remaining = 0 if locked else max(category.max_count - len(pictures), 0)
        views.append(MaterialView(requirement, pictures, remaining, locked))
    return views


async def _applicable_category(ctx: Context, candidate: Candidate, category_id: str) -> MaterialCategory:
    catalog = await ctx.catalog()
    pk = parse_int_id(category_id)
    category = catalog.categories.get(pk) if pk is not None else None
    if category is None:
        raise not_found("材料类别", "categoryId")
    if all(r.category.id != category.id for r in requirements_for(catalog, candidate)):
        raise Rejected.one(
            ErrorCode.CATEGORY_NOT_APPLICABLE,
            f"您的报名不需要「{category.name}」这类材料。",
            "categoryId",
        )
    return category


def _check_can_add(candidate: Candidate, category: MaterialCategory, count: int) -> None:
    if not candidate.category_unlocked(category.id):
        raise Rejected.one(
            ErrorCode.LOCKED, f"「{category.name}」已锁定，不能再上传或删除。", "categoryId"
        )
    if count >= category.max_count:
        raise Rejected.one(
            ErrorCode.CATEGORY_FULL,
            f"「{category.name}」最多上传 {category.max_count} 张，请先删除一张再上传。",
            "categoryId",
        )


def _refuse_poor_quality(category: MaterialCategory, picture: Picture) -> None:
    """POOR_QUALITY when the category refuses a warning the picture has (by default none do)."""
    refused = [w for w in picture.warnings if w.value in (category.refuse_warnings or [])]
    if refused:
        words = "／".join(WARNING_WORDS[w] for w in refused)
        raise Rejected.one(
            ErrorCode.POOR_QUALITY,
            f"照片可能{words}，「{category.name}」要求照片清晰可辨，请重新拍摄后上传。",
            "file",
        )


async def upload_attachment(
    ctx: Context, category_id: str, upload: object
) -> tuple[Attachment, Candidate]:
    """Check, store and record one picture in the next free slot; returns it and its owner."""
    candidate = require_candidate(ctx)
    settings = ctx.services.settings
    store = ctx.services.store
    category = await _applicable_category(ctx, candidate, category_id)
    # Refuse early, before any image work, when the answer is already known.
    existing = await Attachment.filter(candidate_id=candidate.id, category_id=category.id).count()
    _check_can_add(candidate, category, existing)

    if not isinstance(upload, UploadedFile):  # a multipart map pointing at a text field
        raise Rejected.one(ErrorCode.NOT_AN_IMAGE, "没有收到图片文件，请重新选择图片。", "file")
    data = await upload.read()
    ctx.services.metrics.upload_bytes.observe(len(data))
    rules = PictureRules(
        formats=tuple(category.formats),
        max_bytes=category.max_bytes,
        min_side=settings.min_image_side,
        max_pixels=settings.max_image_pixels,
        thumbnail_side=settings.thumbnail_side,
        quality=settings.quality_thresholds(),
    )
    try:
        picture = await asyncio.to_thread(inspect_picture, data, rules)
    except PictureRefused as refused:
        raise Rejected.one(refused.code, refused.message, "file") from refused
    # Pictures are judged only while SUBMITTED, so only a returned candidate has any to compare.
    if candidate.status == ReviewStatus.RETURNED:
        await lookalikes.refuse_if_rejected_before(
            candidate.id, picture.measures.phash, settings.lookalike_distance
        )
    _refuse_poor_quality(category, picture)

    attachment_id = uuid.uuid4()
    extension = "jpg" if picture.format == "jpeg" else "png"
    key = f"pictures/{candidate.id}/{attachment_id}.{extension}"
    thumbnail_key = f"thumbnails/{candidate.id}/{attachment_id}.jpg"
    # Other candidates' look-alikes are searched while the bytes are written.
    search = asyncio.ensure_future(
        lookalikes.nearby(
            picture.measures.phash, settings.lookalike_distance, candidate.id,
            settings.lookalikes_kept,
        )
    )
    try:
        # Bytes first, row second: a crash in between leaves only bytes, which the sweep removes.
        await store.put(key, data)
        await store.put(thumbnail_key, picture.thumbnail)
        found = await search
    except StoreUnavailable as exc:
        search.cancel()
        # No row names these keys; if the store took the first, the sweep removes it.
        raise Unavailable("图片存储暂时不可用，这张图片没有保存，请稍后重试。") from exc
    except BaseException:
        search.cancel()
        raise
    try:
        async with candidate_for_update(candidate.id) as locked:
            taken = set(
                await Attachment.filter(
                    candidate_id=locked.id, category_id=category.id
                ).values_list("slot", flat=True)
            )
            _check_can_add(locked, category, len(taken))
            slot = min(set(range(category.max_count)) - taken)
            attachment = await Attachment.create(
                id=attachment_id,
                candidate_id=locked.id,
                category_id=category.id,
                slot=slot,
                storage_key=key,
                thumbnail_key=thumbnail_key,
                content_type=picture.content_type,
                byte_size=picture.byte_size,
                width=picture.width,
                height=picture.height,
                orientation=picture.orientation,
                sha256=picture.sha256,
                uploaded_at=utcnow(),
                sharpness=picture.measures.sharpness,
                brightness=picture.measures.brightness,
                glare=picture.measures.glare,
                quality_warnings=[w.value for w in picture.warnings],
            )
            await lookalikes.record_fingerprint(attachment, picture.measures.phash)
            await lookalikes.record_pairs(attachment.id, found)
            await write_audit(
                locked,
                AuditAction.UPLOAD,
                ctx.viewer,
                locked.status,
                note=f"{category.name} 第 {slot + 1} 张",
                attachment_id=str(attachment_id),
            )
    except BaseException as exc:
        await asyncio.shield(_forget(ctx, key, thumbnail_key))
        if isinstance(exc, IntegrityError):
            # Another process took the same slot between our read and insert.
            raise Rejected.one(
                ErrorCode.CATEGORY_FULL,
                f"「{category.name}」最多上传 {category.max_count} 张，请先删除一张再上传。",
                "categoryId",
            ) from exc
        raise
    return attachment, locked


async def _forget(ctx: Context, *keys: str) -> None:
    for key in keys:
        await ctx.services.store.delete(key)


async def delete_attachment(ctx: Context, attachment_id: str) -> str:
    candidate = require_candidate(ctx)
    pk = parse_uuid(attachment_id)
    if pk is None:
        raise not_found("图片", "id")
    async with candidate_for_update(candidate.id) as locked:
        attachment = await Attachment.get_or_none(id=pk, candidate_id=locked.id)
        if attachment is None:
            raise not_found("图片", "id")
        if attachment_locked(locked, attachment):
            raise Rejected.one(ErrorCode.LOCKED, "这张图片已锁定，不能删除。", "id")
        await attachment.delete()
        await lookalikes.picture_deleted(pk, utcnow())
        await write_audit(
            locked, AuditAction.DELETE, ctx.viewer, locked.status, attachment_id=str(pk)
        )
    # After the commit: a crash here (or a store that is down) leaves bytes without a row,
    # which the sweep removes.
    with contextlib.suppress(StoreUnavailable):
        await _forget(ctx, attachment.storage_key, attachment.thumbnail_key)
    return str(pk)
