"""The installed console script `exam-review`, run on the embedded engines of one folder."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

EXAM_REVIEW = Path(sys.executable).with_name("exam-review")
CLI_SECRET = "cli-test-secret"


def cli_env(folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite://{folder}/exam-review.sqlite3",
        "STORAGE_URL": f"file://{folder}/files",
        "SECRET_KEY": CLI_SECRET,
        "BROKER_URL": "memory://",
        # Tortoise writes TIMEZONE=UTC into the tests' own environment when it connects.
        "TIMEZONE": "Asia/Shanghai",
    }


async def run_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `exam-review ARGS` with settings that point into `folder`."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(EXAM_REVIEW), *args],
        env=cli_env(folder), cwd=folder, capture_output=True, text=True, timeout=300, check=False,
    )
