"""CLI commands of the outbox and the examiner's integrations: sms-worker, export-results, region-policy."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any, TextIO

from core.settings import Settings


def cmd_sms_worker(args: argparse.Namespace, settings: Settings) -> int:
    from server.database import database, migrate
    from server.sms.sender import build_sender


    async def run() -> None:
        await migrate(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sender = build_sender(settings)
        print(f"短信发送进程 {sender.worker_id} 已启动（网关 {settings.sms_gateway}）。", flush=True)
        async with database(settings):
            try:
                if args.once:
                    report = await sender.run_once()
                    print(
                        f"已发送 {report.sent}，待重试 {report.retried}，失败 {report.failed}，"
                        f"已撤销 {report.dropped}。"
                    )
                else:
                    await sender.run_forever(stop)
            finally:
                await sender.close()

    asyncio.run(run())
    return 0


def cmd_export_results(args: argparse.Namespace, settings: Settings) -> int:
    from resolvers.results import export_results
    from server.database import database


    async def run(out: TextIO) -> int:
        async with database(settings):
            return await export_results(args.region, args.site, args.format, out)

    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = asyncio.run(run(out))
    else:
        count = asyncio.run(run(sys.stdout))
    print(f"已导出 {count} 名考生的审核结果。", file=sys.stderr)
    return 0


def cmd_region_policy(args: argparse.Namespace, settings: Settings) -> int:
    from models import RegionPolicy
    from server.database import database

    values: dict[str, Any] = {}
    if args.sms_template is not None:
        values["sms_template"] = args.sms_template or None
    if args.approval_template is not None:
        values["sms_approval_template"] = args.approval_template or None
    if args.hold_minutes is not None:
        values["sms_hold_minutes"] = max(args.hold_minutes, 0)
    if args.reply_hours is not None:
        values["reply_hours"] = args.reply_hours if args.reply_hours > 0 else None

    async def run() -> RegionPolicy:
        async with database(settings):
            policy, _ = await RegionPolicy.get_or_create(region=args.region)
            if values:
                await policy.update_from_dict(values).save()
            return policy

    policy = asyncio.run(run())
    print(
        f"{policy.region}：短信模板 {policy.sms_template or '（默认）'}；"
        f"通过模板 {policy.sms_approval_template or '（默认）'}；"
        f"短信暂缓 {policy.sms_hold_minutes} 分钟；回复时限 {policy.reply_hours or '（默认）'} 小时。"
    )
    return 0


def add_commands(commands: Any) -> None:
    worker = commands.add_parser("sms-worker", help="send queued SMS and webhooks (a separate process)")
    worker.add_argument("--once", action="store_true", help="one round, then exit")
    worker.set_defaults(run=cmd_sms_worker)

    export = commands.add_parser("export-results", help="review results of a region as csv or jsonl")
    export.add_argument("--region", required=True)
    export.add_argument("--site")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--output", help="file to write (default: standard output)")
    export.set_defaults(run=cmd_export_results)

    policy = commands.add_parser("region-policy", help="show or set a region's SMS texts, hold and deadline")
    policy.add_argument("--region", required=True)
    policy.add_argument("--sms-template", help="placeholders {name} {admission_no} {region} {site} {hours}; '' resets")
    policy.add_argument("--approval-template", help="the approval SMS; '' resets")
    policy.add_argument("--hold-minutes", type=int, help="hold SMS and drop when read meanwhile; 0 = off")
    policy.add_argument("--reply-hours", type=int, help="reply deadline after a return; 0 = default")
    policy.set_defaults(run=cmd_region_policy)
