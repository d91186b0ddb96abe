"""Demo data modelled on the official candidate guide (医师资格考试, 山东省)."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw

from models import Candidate
from models.enums import Role
from resolvers.admin import add_staff_user, import_candidates, import_categories
from storage.base import PictureStore

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


def accounts() -> list[DemoAccount]:
    found = [
        DemoAccount("考生", u, CANDIDATE_PASSWORD, f"{n}，{site}考点，准考证号 {a}")
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
    return True
