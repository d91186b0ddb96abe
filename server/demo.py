"""Demo data modelled on the official candidate guide (医师资格考试, 山东省)."""

from __future__ import annotations

import io
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from core.clock import local_text, utcnow
from core.context import Viewer
from models import Attachment, Candidate, MaterialCategory
from models.enums import AuditAction, MessageKind, ReviewStatus, Role
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


def document_photo(title: str, seed: int) -> bytes:
    """A photo-sized picture of a document, different for every candidate and page."""
    image = Image.new("RGB", (1200, 840), (214 - seed % 5 * 6, 208, 196 + seed % 3 * 8))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((90, 70, 1110, 770), radius=30, fill=(250, 248, 240), outline=(90, 110, 140), width=5)
    draw.rectangle((140, 160, 420, 520), fill=(200, 212, 228))
    for row in range(6):
        y = 170 + row * 60
        draw.rectangle((470, y, 1040 - (row * 53 + seed * 29) % 260, y + 24), fill=(95, 105, 125))
    font = ImageFont.load_default(size=44)
    draw.text((140, 600), title, fill=(40, 60, 110), font=font)
    draw.text((140, 670), f"No. {370100000 + seed * 7919}", fill=(40, 60, 110), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


async def submit_demo_candidate(store: PictureStore, candidate: Candidate, tz: ZoneInfo) -> None:
    """Every required picture, then 提交审核: the same rows, bytes and log a real submission leaves."""
    categories = {c.code: c for c in await MaterialCategory.all()}
    slots: dict[str, int] = {}
    async with candidate_for_update(candidate.id) as locked:
        own = Viewer(role=Role.CANDIDATE, session_id="demo", candidate=locked)
        for index, (code, title) in enumerate(SUBMITTED_PICTURES):
            category = categories[code]
            data = document_photo(title, locked.id * 10 + index)
            rules = PictureRules(tuple(category.formats), category.max_bytes, 300, 40_000_000, 320)
            picture = inspect_picture(data, rules)
            slot = slots[code] = slots.get(code, -1) + 1
            attachment_id = uuid.uuid4()
            key = f"pictures/{locked.id}/{attachment_id}.jpg"
            thumbnail_key = f"thumbnails/{locked.id}/{attachment_id}.jpg"
            await store.put(key, data)
            await store.put(thumbnail_key, picture.thumbnail)
            await Attachment.create(
                id=attachment_id, candidate_id=locked.id, category_id=category.id, slot=slot,
                storage_key=key, thumbnail_key=thumbnail_key, content_type=picture.content_type,
                byte_size=picture.byte_size, width=picture.width, height=picture.height,
                orientation=picture.orientation, sha256=picture.sha256, uploaded_at=utcnow(),
            )
            await write_audit(
                locked, AuditAction.UPLOAD, own, locked.status,
                note=f"{category.name} 第 {slot + 1} 张", attachment_id=str(attachment_id),
            )
        now = utcnow()
        locked.status, locked.submitted_at, locked.queue_at = ReviewStatus.SUBMITTED, now, now
        locked.first_submitted_at = locked.first_submitted_at or now
        locked.activated_at = locked.activated_at or now
        await locked.save()
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


async def load_demo(store: PictureStore, tz: ZoneInfo) -> bool:
    """Load the demo once; returns False when candidates already exist."""
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
        await submit_demo_candidate(store, await Candidate.get(username=username), tz)
    return True
