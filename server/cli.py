"""`exam-review`: serve, migrate, import, add users, demo data, schema export, sweep, purge, export."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.clock import local_text
from core.settings import SETTINGS_ENV, Settings
from models.enums import Role
from storage.base import PictureStore


@asynccontextmanager
async def _opened_store(settings: Settings) -> AsyncIterator[PictureStore]:
    from storage import open_store

    store = open_store(settings.storage_url)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from server.database import migrate

    asyncio.run(migrate(settings))
    print("数据库已迁移到最新版本。")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    metrics_dir = ""
    if args.workers > 1:
        # Set before any worker imports prometheus_client: each then writes its series to the
        # run's files, and a scrape answered by any worker adds them all up.
        metrics_dir = tempfile.mkdtemp(prefix="exam-review-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        settings = replace(settings, metrics_dir=metrics_dir)
    try:
        return _serve(args, settings)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.app import uvicorn_options
    from server.database import migrate
    from server.observability import log_config
    from server.serving import ServerThen

    asyncio.run(migrate(settings))
    # Workers get the settings read at start, not the environment as Tortoise left it.
    os.environ[SETTINGS_ENV] = settings.to_json()
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "log_level": "info",
        "log_config": log_config(),
        **uvicorn_options(settings),
    }
    sweep = _StartupSweep(settings)
    if args.workers > 1:
        # This process only supervises the workers: its sweep takes nothing from them.
        sweep.start()
        uvicorn.run("server.app:app_from_environment", factory=True, **options)
        return 0
    # One process: the sweep starts once it listens, so the first answer does not wait for it.
    config = uvicorn.Config("server.app:app_from_environment", factory=True, **options)
    server = ServerThen(config, then=sweep.start)
    with suppress(KeyboardInterrupt):
        server.run()
    return 0 if server.started else 3  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits with


class _StartupSweep:
    """What a crash left behind (bytes without a row), removed while the service already answers.

    Safe beside live uploads: it only removes objects older than the grace period, and an
    upload commits its row (or gives up) long before that. It runs once, in its own thread and
    event loop, with its own database connection; a failure is reported, not fatal.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.thread = threading.Thread(target=self._run, name="orphan-sweep", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        grace = timedelta(seconds=self.settings.orphan_grace_seconds)
        try:
            asyncio.run(_sweep(self.settings, grace, dry_run=False))
        except Exception as exc:  # the service keeps serving; the log says why
            print(f"启动时的孤立文件清理未完成：{exc!r}（可稍后运行 exam-review sweep）", flush=True)


def cmd_import_categories(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.admin import ImportFailed, import_categories
    from server.database import database

    path = Path(args.file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"无法读取 {path}: {exc}", file=sys.stderr)
        return 1

    async def run() -> int:
        async with _opened_store(settings) as store, database(settings):
            try:
                report = await import_categories(data, path.parent, store)
            except ImportFailed as failed:
                for problem in failed.problems:
                    print(problem, file=sys.stderr)
                print("未导入任何内容。", file=sys.stderr)
                return 1
        print(f"材料类别：新增 {report.created}，更新 {report.updated}。")
        return 0

    return asyncio.run(run())


def cmd_import_candidates(args: argparse.Namespace, settings: Settings) -> int:
    from zoneinfo import ZoneInfo

    from resolvers.admin import ImportFailed, import_candidates
    from server.database import database

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"无法读取 {path}: {exc}", file=sys.stderr)
        return 1

    async def run() -> int:
        async with database(settings):
            try:
                report = await import_candidates(text, ZoneInfo(settings.timezone))
            except ImportFailed as failed:
                for problem in failed.problems:
                    print(problem, file=sys.stderr)
                return 1
        for failure in report.failures:
            print(failure, file=sys.stderr)
        print(
            f"考生：新增 {report.created}，更新 {report.updated}，失败 {len(report.failures)}。"
        )
        return 0 if report.ok else 1

    return asyncio.run(run())


def cmd_add_user(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.admin import ImportFailed, add_staff_user
    from server.database import database

    password = sys.stdin.readline().rstrip("\r\n")

    async def run() -> int:
        async with database(settings):
            try:
                user, created = await add_staff_user(
                    Role(args.role.upper()), args.username, password, args.region, args.site, args.name
                )
            except ImportFailed as failed:
                for problem in failed.problems:
                    print(problem, file=sys.stderr)
                return 1
        scope = user.region + (f" / {user.site}" if user.site else "")
        print(f"{'已创建' if created else '已更新'} {user.role.value} {user.username}（{scope}）。")
        return 0

    return asyncio.run(run())


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from server.database import database, migrate
    from server.demo import accounts, load_demo

    async def run() -> bool:
        await migrate(settings)
        async with _opened_store(settings) as store, database(settings):
            return await load_demo(store, settings)

    loaded = asyncio.run(run())
    print("已载入演示数据。" if loaded else "数据库中已有考生，演示数据未重复载入。")
    print("\n演示账号：")
    for account in accounts():
        print(f"  {account.role:<4} {account.username:<16} 密码 {account.password:<14} {account.note}")
    return 0


def cmd_export_schema(args: argparse.Namespace, settings: Settings) -> int:
    from schema import SDL_PATH, export_sdl

    target = Path(args.output) if args.output else SDL_PATH
    target.write_text(export_sdl(), encoding="utf-8")
    print(f"已写入 {target}")
    return 0


async def _sweep(settings: Settings, grace: timedelta, dry_run: bool) -> None:
    from resolvers.admin import sweep_orphans
    from server.database import database

    async with _opened_store(settings) as store, database(settings):
        report = await sweep_orphans(store, grace, dry_run=dry_run)
    for key in report.removed:
        print(("将删除 " if dry_run else "已删除 ") + key)
    print(
        f"检查 {report.scanned} 个文件，孤立 {len(report.removed)} 个，"
        f"近期写入暂不处理 {report.kept_recent} 个。",
        flush=True,
    )


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_sweep(settings, timedelta(seconds=args.grace_seconds), args.dry_run))
    return 0


DECISION_WORDS = {"APPROVED": "审核通过", "REJECTED": "审核不通过"}


def _cutoff(text: str, tz: ZoneInfo) -> datetime:
    """DATE 00:00 Beijing time (the service's zone); refuses what is not a date, or is too late."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"日期格式不正确：「{text}」，应为 YYYY-MM-DD，例如 2026-09-01。") from None
    today = datetime.now(tz).date()
    if day > today + timedelta(days=1):
        raise ValueError(
            f"截止日期 {day} 晚于明天：只能清理已经作出决定的考生（今天决定的，请用明天的日期）。"
        )
    return datetime.combine(day, time(0), tzinfo=tz)


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.privacy import PurgeReport, purge_decided
    from server.database import database

    tz = ZoneInfo(settings.timezone)
    try:
        cutoff = _cutoff(args.decided_before, tz)
    except ValueError as refused:
        print(refused, file=sys.stderr)
        return 2
    verb = "将清理" if args.dry_run else "已清理"

    async def run() -> PurgeReport:
        report = PurgeReport()
        async with _opened_store(settings) as store, database(settings):
            async for done in purge_decided(store, cutoff, dry_run=args.dry_run):
                report.candidates.append(done)
                removed = [f"图片 {done.picture_count} 张（{done.picture_bytes / 1024:.0f} KB）"]
                removed += ["电话"] * done.phone_removed + ["地址"] * done.address_removed
                print(
                    f"{verb} {done.admission_no} {done.name}（{DECISION_WORDS.get(done.status, done.status)}，"
                    f"{local_text(done.decided_at, tz)} 决定）：{'、'.join(removed)}",
                    flush=True,
                )
        return report

    report = asyncio.run(run())
    if not report.candidates:
        print(f"没有需要清理的考生：{cutoff.date()} 之前作出决定的考生均已清理。")
        return 0
    print(
        f"{'将' if args.dry_run else '已'}清理 {len(report.candidates)} 名考生："
        f"图片 {report.pictures} 张（原图与缩略图共 {2 * report.pictures} 个文件，"
        f"原图 {report.picture_bytes / 1024:.0f} KB），电话 {report.phones} 个，地址 {report.addresses} 个。"
        + ("（演练：未作任何改动）" if args.dry_run else "")
    )
    return 0


def cmd_export_candidate(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.privacy import ExportRefused, export_candidate
    from server.database import database

    output = Path(args.output)

    async def run() -> dict[str, int]:
        async with _opened_store(settings) as store, database(settings):
            return await export_candidate(store, args.admission_no, output, ZoneInfo(settings.timezone))

    try:
        counts = asyncio.run(run())
    except ExportRefused as refused:
        print(refused, file=sys.stderr)
        return 1
    missing = f"，{counts['missing_pictures']} 张图片文件已不存在" if counts["missing_pictures"] else ""
    print(
        f"已导出到 {output}：报名信息，消息 {counts['messages']} 条，审核记录 {counts['history']} 条，"
        f"图片 {counts['pictures']} 张{missing}。"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="exam-review", description="在线审核系统")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate if needed, then serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)

    categories = commands.add_parser("import-categories", help="upsert categories from JSON")
    categories.add_argument("file")
    categories.set_defaults(run=cmd_import_categories)

    candidates = commands.add_parser("import-candidates", help="upsert candidates from CSV")
    candidates.add_argument("file")
    candidates.set_defaults(run=cmd_import_candidates)

    add_user = commands.add_parser("add-user", help="add an examiner or admin (password on stdin)")
    add_user.add_argument("--role", required=True, choices=["examiner", "admin"])
    add_user.add_argument("--username", required=True)
    add_user.add_argument("--region", required=True, help="考区, or '*' for every region")
    add_user.add_argument("--site", help="考点 (examiners of one site)")
    add_user.add_argument("--name", help="display name shown to candidates (default: username)")
    add_user.set_defaults(run=cmd_add_user)

    commands.add_parser("demo", help="load demo data once and print the accounts").set_defaults(
        run=cmd_demo
    )

    export = commands.add_parser("export-schema", help="write schema/schema.graphql")
    export.add_argument("--output")
    export.set_defaults(run=cmd_export_schema)

    sweep = commands.add_parser("sweep", help="remove stored bytes that no row names")
    sweep.add_argument("--grace-seconds", type=int, default=3600)
    sweep.add_argument("--dry-run", action="store_true")
    sweep.set_defaults(run=cmd_sweep)

    purge = commands.add_parser(
        "purge", help="remove pictures, phone and address of candidates decided before DATE"
    )
    purge.add_argument("--decided-before", required=True, metavar="DATE", help="YYYY-MM-DD, Beijing time")
    purge.add_argument("--dry-run", action="store_true", help="report, change nothing")
    purge.set_defaults(run=cmd_purge)

    export_candidate = commands.add_parser(
        "export-candidate", help="everything stored about one candidate, as a zip"
    )
    export_candidate.add_argument("--admission-no", required=True)
    export_candidate.add_argument("--output", required=True, metavar="FILE.zip")
    export_candidate.set_defaults(run=cmd_export_candidate)

    from server.sms.commands import add_commands

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Read once, before any library touches the environment (Tortoise writes TIMEZONE=UTC).
    settings = Settings.from_env()
    return int(args.run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
