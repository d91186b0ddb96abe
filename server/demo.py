"""Demo data modelled on the official candidate guide (医师资格考试, 山东省)."""

from __future__ import annotations

import io
import random
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from core.clock import local_text, utcnow
from core.context import Viewer
from core.settings import Settings
from models import Attachment, Candidate, MaterialCategory
from models.enums import AuditAction, MessageKind, ReviewStatus, Role
from resolvers import lookalikes
from resolvers.admin import add_staff_user, import_candidates, import_categories
from resolvers.audit import write_audit
from resolvers.locking import candidate_for_update
from resolvers.messages import post_message
from storage.base import PictureStore
from storage.images import PictureRules, inspect_picture

CANDIDATE_PASSWORD = "kaosheng2026"
STAFF_PASSWORD = "kaowu2026!"

CATEGORIES: dict[str, Any] = {
    "categories": [
        {
            "code": "ID",
            "name": "身份证明",
            "instructions": "请上传与报名相一致的有效身份证件正反面照片（外国护照需上传信息页与封页）",
            "minCount": 2,
            "maxCount": 2,
            "example": "id.jpg",
        },
        {
            "code": "EDU",
            "name": "学历证明",
            "instructions": "请上传毕业证书照片，须清晰完整、端正、无遮挡。",
            "example": "edu.jpg",
        },
        {
            "code": "PROBATION",
            "name": "试用期考核证明",
            "instructions": "请上传加盖单位公章的《医师资格考试试用期考核证明》照片。",
            "example": "probation.jpg",
        },
        {
            "code": "ASSISTANT_CERT",
            "name": "执业助理医师资格证书",
            "instructions": "已取得执业助理医师资格的考生请上传证书照片（含编号页）。",
        },
    ],
    "requirements": [
        {"category": "ID", "required": True, "region": "*", "site": "*", "examCategoryCode": "*"},
        {"category": "EDU", "required": True},
        {"category": "PROBATION", "required": True},
        {"category": "ASSISTANT_CERT", "required": False},
    ],
}

CANDIDATES = [
    ("zhangwei", "张伟", "370101202011001", "济南"),
    ("lina", "李娜", "370101202011002", "济南"),
    ("wangfang", "王芳", "370101202011003", "济南"),
    ("liuyang", "刘洋", "370201202011001", "青岛"),
    ("chenjing", "陈静", "370201202011002", "青岛"),
]

# These wait in the examiners' queue with every required picture, oldest first, so the
# workbench's 「下一位」 has someone to show right after `make run`.
SUBMITTED_USERNAMES = ("lina", "wangfang", "chenjing")
# (category code, picture title) in upload order: what a complete submission holds.
SUBMITTED_PICTURES = (
    ("ID", "ID CARD FRONT"),
    ("ID", "ID CARD BACK"),
    ("EDU", "DIPLOMA"),
    ("PROBATION", "PROBATION CERTIFICATE"),
)

# What the examiners' workbench flags in the demo, both for 济南's examiner: one picture out of
# focus (「模糊」), and one diploma photo that two candidates of the same site both sent
# (「相似照片」). (username, index into SUBMITTED_PICTURES).
BLURRED_PHOTO = ("wangfang", 1)
BLURRED_RADIUS = 4.0
SHARED_PHOTO = (("lina", 2), ("wangfang", 2))

STAFF = [
    (Role.EXAMINER, "jinan_kaowu", "济南考点审核员", "山东省", "济南"),
    (Role.EXAMINER, "qingdao_kaowu", "青岛考点审核员", "山东省", "青岛"),
    (Role.ADMIN, "shandong_admin", "山东省考区管理员", "山东省", None),
]


def example_picture(title: str, seed: int) -> bytes:
    """A plain card-like picture that shows where the document goes."""
    image = Image.new("RGB", (640, 400), (236, 242, 248))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((30, 30, 610, 370), radius=24, outline=(40, 90, 160), width=6)
    draw.rectangle((60, 80, 220, 300), fill=(190, 205, 225))
    for row in range(5):
        y = 90 + row * 45
        draw.rectangle((250, y, 560 - (row * 37 + seed * 11) % 120, y + 18), fill=(120, 140, 170))
    draw.text((60, 320), title, fill=(40, 90, 160))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class DemoAccount:
    role: str
    username: str
    password: str
    note: str


def document_photo(title: str, seed: int, blur: float = 0.0) -> bytes:
    """A photo of a document on a table, its layout, colours and framing its own for every
    seed: two demo pictures look alike only where the demo means them to. `blur`: out of focus.
    """
    rng = random.Random(seed)
    width, height = 1200, 840
    image = Image.new("RGB", (width, height), _colour(rng, 90, 200))
    draw = ImageDraw.Draw(image)
    card_w, card_h = rng.randint(760, 1060), rng.randint(520, 740)
    x0, y0 = rng.randint(20, width - card_w - 20), rng.randint(20, height - card_h - 20)
    # Paper short of white, so a plain page is not taken for a reflection.
    draw.rounded_rectangle(
        (x0, y0, x0 + card_w, y0 + card_h), radius=24, fill=_colour(rng, 226, 242),
        outline=(90, 110, 140), width=5,
    )
    band = rng.randint(50, 110)
    ink = _colour(rng, 30, 140)
    if rng.random() < 0.5:
        draw.rectangle((x0 + 20, y0 + 20, x0 + card_w - 20, y0 + 20 + band), fill=ink)
    portrait_w, portrait_h = rng.randint(180, 300), rng.randint(230, 380)
    left = rng.random() < 0.5
    px = x0 + 40 if left else x0 + card_w - 40 - portrait_w
    py = y0 + rng.randint(120, max(121, card_h - portrait_h - 30))
    draw.rectangle((px, py, px + portrait_w, py + portrait_h), fill=_colour(rng, 120, 220))
    text_x0 = x0 + 60 + (portrait_w + 20 if left else 0)
    text_x1 = x0 + card_w - 60 - (0 if left else portrait_w + 20)
    y = y0 + band + 50
    while y < y0 + card_h - 60:
        line_end = text_x0 + int((text_x1 - text_x0) * rng.uniform(0.3, 1.0))
        draw.rectangle((text_x0, y, line_end, y + rng.randint(14, 30)), fill=ink)
        y += rng.randint(40, 90)
    font = ImageFont.load_default(size=40)
    draw.text(
        (x0 + 40, y0 + card_h - 60), f"{title}  No. {370100000 + seed * 7919}",
        fill=(40, 60, 110), font=font,
    )
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def _colour(rng: random.Random, low: int, high: int) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def reencoded(data: bytes, quality: int) -> bytes:
    """The same photo saved again (a candidate passing on another's file)."""
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def demo_picture(username: str, index: int) -> bytes:
    """The bytes a demo candidate submitted as picture `index` of SUBMITTED_PICTURES."""
    title = SUBMITTED_PICTURES[index][1]
    if (username, index) == SHARED_PHOTO[1]:
        return reencoded(demo_picture(*SHARED_PHOTO[0]), 75)
    seed = (SUBMITTED_USERNAMES.index(username) + 1) * 10 + index
    return document_photo(title, seed, BLURRED_RADIUS if (username, index) == BLURRED_PHOTO else 0.0)


async def submit_demo_candidate(store: PictureStore, candidate: Candidate, settings: Settings) -> None:
    """Every required picture, then 提交审核: the same rows, bytes and log a real submission
    leaves, each picture checked, measured and fingerprinted as an upload is."""
    categories = {c.code: c for c in await MaterialCategory.all()}
    slots: dict[str, int] = {}
    async with candidate_for_update(candidate.id) as locked:
        own = Viewer(role=Role.CANDIDATE, session_id="demo", candidate=locked)
        for index, (code, _) in enumerate(SUBMITTED_PICTURES):
            category = categories[code]
            data = demo_picture(locked.username, index)
            rules = PictureRules(  # the upload's own rules (resolvers/materials.py)
                formats=tuple(category.formats),
                max_bytes=category.max_bytes,
                min_side=settings.min_image_side,
                max_pixels=settings.max_image_pixels,
                thumbnail_side=settings.thumbnail_side,
                quality=settings.quality_thresholds(),
            )
            picture = inspect_picture(data, rules)
            found = await lookalikes.nearby(
                picture.measures.phash, settings.lookalike_distance, locked.id,
                settings.lookalikes_kept,
            )
            slot = slots[code] = slots.get(code, -1) + 1
            attachment_id = uuid.uuid4()
            key = f"pictures/{locked.id}/{attachment_id}.jpg"
            thumbnail_key = f"thumbnails/{locked.id}/{attachment_id}.jpg"
            await store.put(key, data)
            await store.put(thumbnail_key, picture.thumbnail)
            attachment = await Attachment.create(
                id=attachment_id, candidate_id=locked.id, category_id=category.id, slot=slot,
                storage_key=key, thumbnail_key=thumbnail_key, content_type=picture.content_type,
                byte_size=picture.byte_size, width=picture.width, height=picture.height,
                orientation=picture.orientation, sha256=picture.sha256, uploaded_at=utcnow(),
                sharpness=picture.measures.sharpness, brightness=picture.measures.brightness,
                glare=picture.measures.glare, quality_warnings=[w.value for w in picture.warnings],
            )
            await lookalikes.record_fingerprint(attachment, picture.measures.phash)
            await lookalikes.record_pairs(attachment.id, found)
            await write_audit(
                locked, AuditAction.UPLOAD, own, locked.status,
                note=f"{category.name} 第 {slot + 1} 张", attachment_id=str(attachment_id),
            )
        now = utcnow()
        locked.status, locked.submitted_at, locked.queue_at = ReviewStatus.SUBMITTED, now, now
        locked.first_submitted_at = locked.first_submitted_at or now
        locked.activated_at = locked.activated_at or now
        await locked.save()
        tz = ZoneInfo(settings.timezone)
        await post_message(locked, MessageKind.SYSTEM, f"{local_text(now, tz)} 上报完成，内容已锁定。", at=now)
        await write_audit(locked, AuditAction.SUBMIT, own, ReviewStatus.DRAFT, ReviewStatus.SUBMITTED)


def accounts() -> list[DemoAccount]:
    found = [
        DemoAccount(
            "考生", u, CANDIDATE_PASSWORD,
            f"{n}，{site}考点，准考证号 {a}" + ("，已提交待审核" if u in SUBMITTED_USERNAMES else ""),
        )
        for u, n, a, site in CANDIDATES
    ]
    found += [
        DemoAccount("考务" if role == Role.EXAMINER else "管理员", u, STAFF_PASSWORD, title)
        for role, u, title, _, _ in STAFF
    ]
    return found


async def load_categories(store: PictureStore, folder: Path) -> None:
    """The demo's categories, with example pictures written to `folder` first."""
    for index, name in enumerate(("id", "edu", "probation")):
        (folder / f"{name}.jpg").write_bytes(example_picture(f"EXAMPLE {name.upper()}", index))
    await import_categories(CATEGORIES, folder, store)


async def load_demo(store: PictureStore, settings: Settings) -> bool:
    """Load the demo once; returns False when candidates already exist."""
    tz = ZoneInfo(settings.timezone)
    if await Candidate.exists():
        return False
    with tempfile.TemporaryDirectory() as folder:
        await load_categories(store, Path(folder))
    lines = ["username,password,name,admission_no,exam_category_code,exam_category_name,"
             "region,site,stage,registered_at"]
    for username, name, admission_no, site in CANDIDATES:
        lines.append(
            f"{username},{CANDIDATE_PASSWORD},{name},{admission_no},2020110,临床执业医师,"
            f"山东省,{site},报名,2026-03-01T09:30:00"
        )
    report = await import_candidates("\n".join(lines) + "\n", tz)
    assert report.ok, report.failures
    for role, username, title, region, staff_site in STAFF:
        await add_staff_user(role, username, STAFF_PASSWORD, region, staff_site, title)
    for username in SUBMITTED_USERNAMES:
        await submit_demo_candidate(store, await Candidate.get(username=username), settings)
    return True
