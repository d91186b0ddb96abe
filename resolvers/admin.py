"""What admins do from the CLI: import categories and candidates, add staff, sweep orphans."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import utcnow
from core.security import hash_password, is_password_hash
from models import Attachment, Candidate, MaterialCategory, RequirementRule, StaffUser
from models.enums import QualityWarning, Role
from storage.base import PictureStore
from storage.images import CONTENT_TYPES, sniff_format

DEFAULT_MAX_BYTES = 204800
KNOWN_FORMATS = ("jpeg", "png")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@\-]{1,64}$")
CANDIDATE_COLUMNS = (
    "username", "name", "admission_no", "exam_category_code", "exam_category_name",
    "region", "site", "stage", "registered_at",
)


class ImportFailed(Exception):
    """The whole file is refused; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _int_field(entry: Mapping[str, Any], key: str, default: int, where: str, problems: list[str]) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{where}: {key} 应为整数")
        return default
    return value


async def import_categories(data: Any, base_dir: Path, store: PictureStore) -> ImportReport:
    """Upsert categories by code and requirement rules by (category, region, site, exam category).

    The file is checked whole first; nothing is written when any entry is wrong.
    """
    problems: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("categories", []), list):
        raise ImportFailed(["文件应为 JSON 对象，包含 categories 列表和 requirements 列表"])
    categories: list[dict[str, Any]] = []
    examples: dict[str, tuple[bytes, str]] = {}
    seen: set[str] = set()
    for index, entry in enumerate(data.get("categories", [])):
        where = f"categories[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: 应为对象")
            continue
        code = str(entry.get("code", "")).strip()
        name = str(entry.get("name", "")).strip()
        if not code or len(code) > 64:
            problems.append(f"{where}: code 不能为空且不超过 64 个字符")
        elif code in seen:
            problems.append(f"{where}: code {code} 重复")
        seen.add(code)
        if not name:
            problems.append(f"{where}: name 不能为空")
        min_count = _int_field(entry, "minCount", 1, where, problems)
        max_count = _int_field(entry, "maxCount", 1, where, problems)
        max_bytes = _int_field(entry, "maxBytes", DEFAULT_MAX_BYTES, where, problems)
        position = _int_field(entry, "position", index, where, problems)
        if not 0 <= min_count <= max_count or not 1 <= max_count <= 20:
            problems.append(f"{where}: 应满足 0 ≤ minCount ≤ maxCount ≤ 20 且 maxCount ≥ 1")
        if not 1024 <= max_bytes <= 10 * 1024 * 1024:
            problems.append(f"{where}: maxBytes 应在 1024 到 10485760 之间")
        formats = entry.get("formats", list(KNOWN_FORMATS))
        if (
            not isinstance(formats, list)
            or not formats
            or any(f not in KNOWN_FORMATS for f in formats)
        ):
            problems.append(f"{where}: formats 只能取 jpeg、png")
            formats = list(KNOWN_FORMATS)
        refuse = entry.get("refuseWarnings", [])
        known = [w.value for w in QualityWarning]
        if not isinstance(refuse, list) or any(w not in known for w in refuse):
            problems.append(f"{where}: refuseWarnings 只能取 {'、'.join(known)}")
            refuse = []
        example = entry.get("example")
        if example:
            path = (base_dir / str(example)).resolve()
            try:
                raw = path.read_bytes()
            except OSError:
                problems.append(f"{where}: 示例图片 {example} 无法读取")
            else:
                kind = sniff_format(raw)
                if kind not in CONTENT_TYPES:
                    problems.append(f"{where}: 示例图片 {example} 不是 jpg 或 png")
                else:
                    examples[code] = (raw, kind)
        categories.append(
            {
                "code": code,
                "name": name,
                "instructions": str(entry.get("instructions", "")).strip(),
                "min_count": min_count,
                "max_count": max_count,
                "max_bytes": max_bytes,
                "formats": sorted(set(formats), key=KNOWN_FORMATS.index),
                "position": position,
                "refuse_warnings": sorted(set(refuse), key=known.index),
            }
        )

    rules: list[dict[str, Any]] = []
    known_codes = seen | set(await MaterialCategory.all().values_list("code", flat=True))
    for index, entry in enumerate(data.get("requirements", [])):
        where = f"requirements[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: 应为对象")
            continue
        code = str(entry.get("category", "")).strip()
        if code not in known_codes:
            problems.append(f"{where}: 未知的材料类别 {code!r}")
        required = entry.get("required", True)
        if not isinstance(required, bool):
            problems.append(f"{where}: required 应为 true 或 false")
        rules.append(
            {
                "code": code,
                "required": bool(required),
                "region": str(entry.get("region", "*")).strip() or "*",
                "site": str(entry.get("site", "*")).strip() or "*",
                "exam_category_code": str(entry.get("examCategoryCode", "*")).strip() or "*",
            }
        )
    if problems:
        raise ImportFailed(problems)

    report = ImportReport()
    stored_examples: list[str] = []
    for code, (raw, kind) in examples.items():
        key = f"examples/{code}.{'jpg' if kind == 'jpeg' else 'png'}"
        await store.put(key, raw)
        stored_examples.append(key)
    async with in_transaction():
        for values in categories:
            code = values.pop("code")
            if code in examples:
                kind = examples[code][1]
                values["example_key"] = f"examples/{code}.{'jpg' if kind == 'jpeg' else 'png'}"
                values["example_content_type"] = CONTENT_TYPES[kind]
            _, created = await MaterialCategory.update_or_create(defaults=values, code=code)
            report.created += created
            report.updated += not created
        by_code = {c.code: c for c in await MaterialCategory.all()}
        for rule in rules:
            await RequirementRule.update_or_create(
                defaults={"required": rule["required"]},
                category=by_code[rule["code"]],
                region=rule["region"],
                site=rule["site"],
                exam_category_code=rule["exam_category_code"],
            )
    return report


def _parse_registered_at(raw: str, tz: ZoneInfo) -> datetime:
    moment = datetime.fromisoformat(raw.strip())
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _candidate_values(row: Mapping[str, str], tz: ZoneInfo) -> tuple[dict[str, Any], list[str]]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    for column in CANDIDATE_COLUMNS:
        text = (row.get(column) or "").strip()
        if not text:
            problems.append(f"{column} 不能为空")
        values[column] = text
    if values["username"] and not _USERNAME.match(values["username"]):
        problems.append("username 只能包含字母、数字和 _ . @ -，最长 64 个字符")
    for column, limit in (("name", 100), ("admission_no", 64), ("region", 64), ("site", 64),
                          ("stage", 32), ("exam_category_code", 32), ("exam_category_name", 100)):
        if len(values[column]) > limit:
            problems.append(f"{column} 超过 {limit} 个字符")
    if values["registered_at"]:
        try:
            values["registered_at"] = _parse_registered_at(values["registered_at"], tz)
        except ValueError:
            problems.append("registered_at 不是 ISO 8601 时间")
    password = row.get("password") or ""
    password_hash = (row.get("password_hash") or "").strip()
    if password_hash:
        if not is_password_hash(password_hash):
            problems.append("password_hash 不是 argon2 哈希")
        values["password_hash"] = password_hash
    elif password:
        values["password_hash"] = None  # hashed after validation, only for good rows
        values["_password"] = password
    else:
        problems.append("password 或 password_hash 必须填写其一")
    return values, problems


async def import_candidates(text: str, tz: ZoneInfo) -> ImportReport:
    """Upsert by username, one row at a time: a bad row is reported and skipped whole."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = set(reader.fieldnames or [])
    missing = [c for c in CANDIDATE_COLUMNS if c not in header]
    if missing or not ({"password", "password_hash"} & header):
        need = ", ".join(missing) or "password 或 password_hash"
        raise ImportFailed([f"第 1 行: 表头缺少 {need}"])
    for row in reader:
        line = reader.line_num
        values, problems = _candidate_values(row, tz)
        if problems:
            report.failures.append(f"第 {line} 行: " + "；".join(problems))
            continue
        if "_password" in values:
            values["password_hash"] = hash_password(values.pop("_password"))
        username = values.pop("username")
        try:
            async with in_transaction():
                if await StaffUser.exists(username=username):
                    raise ValueError(f"用户名 {username} 已被考务账号使用")
                existing = await Candidate.get_or_none(username=username)
                if existing is None:
                    await Candidate.create(
                        username=username, queue_at=values["registered_at"], **values
                    )
                    report.created += 1
                else:
                    existing.update_from_dict(values)
                    await existing.save()
                    report.updated += 1
        except IntegrityError:
            report.failures.append(f"第 {line} 行: 准考证号 {values['admission_no']} 已属于其他考生")
        except ValueError as exc:
            report.failures.append(f"第 {line} 行: {exc}")
    return report


async def add_staff_user(
    role: Role, username: str, password: str, region: str, site: str | None, name: str | None
) -> tuple[StaffUser, bool]:
    """Create or update an examiner or admin; returns the user and whether it was created."""
    problems = []
    if role not in (Role.EXAMINER, Role.ADMIN):
        problems.append("role 只能是 examiner 或 admin")
    if not _USERNAME.match(username):
        problems.append("用户名只能包含字母、数字和 _ . @ -，最长 64 个字符")
    if len(password) < 8:
        problems.append("密码至少 8 个字符")
    if not region.strip():
        problems.append("region 不能为空（全部考区用 '*'）")
    if await Candidate.exists(username=username):
        problems.append(f"用户名 {username} 已被考生使用")
    if problems:
        raise ImportFailed(problems)
    user, created = await StaffUser.update_or_create(
        defaults={
            "password_hash": hash_password(password),
            "name": (name or username).strip(),
            "role": role,
            "region": region.strip(),
            "site": site.strip() if site and site.strip() else None,
        },
        username=username,
    )
    return user, created


@dataclass
class SweepReport:
    scanned: int = 0
    removed: list[str] = field(default_factory=list)
    kept_recent: int = 0


async def sweep_orphans(store: PictureStore, grace: timedelta, dry_run: bool = False) -> SweepReport:
    """Remove stored bytes that no row names (what a crash between write and commit leaves).

    Objects younger than `grace` are kept: their upload may still be committing.
    """
    referenced: set[str] = set()
    for key, thumb in await Attachment.all().values_list("storage_key", "thumbnail_key"):
        referenced.update((str(key), str(thumb)))
    for example_key in await MaterialCategory.all().values_list("example_key", flat=True):
        if example_key:
            referenced.add(str(example_key))
    report = SweepReport()
    cutoff = utcnow() - grace
    async for item in store.scan():
        report.scanned += 1
        if item.key in referenced:
            continue
        if item.modified_at > cutoff:
            report.kept_recent += 1
            continue
        if not dry_run:
            await store.delete(item.key)
        report.removed.append(item.key)
    return report


def rows_to_csv(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
