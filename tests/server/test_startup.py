"""What keeps a start cheap stays so: no model makes Tortoise read its source at import, and
serving imports nothing that only other paths need."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import models


def test_every_model_skips_tortoise_comment_scan_and_loses_nothing_by_it() -> None:
    # Tortoise reads a model's source (a parse of its whole file) for `#:` field comments;
    # `_no_comments` skips that. It must be each class's own attribute, and there must be
    # no such comment that a field description would then miss.
    for model in models.__models__:
        assert model.__dict__.get("_no_comments") is True, model.__name__
        comments = [line for line in inspect.getsource(model).splitlines() if line.lstrip().startswith("#:")]
        assert not comments, f"{model.__name__} has `#:` field comments: {comments}"


def test_serving_starts_without_the_libraries_only_other_paths_need() -> None:
    # What `exam-review serve` imports before its first answer on the default stack (SQLite,
    # folder, memory broker): Pillow waits for the first upload, argon2 for the first sign-in,
    # the S3 client, Redis and PostgreSQL drivers for the scale stack.
    probe = (
        "import sys, uvicorn, server.cli, server.database, server.serving\n"
        "from core.settings import Settings\n"
        "from server.app import create_app\n"
        "create_app(Settings.from_env())\n"
        "print(' '.join(sorted(m for m in ('PIL', 'argon2', 'aiobotocore', 'botocore', 'redis',"
        " 'asyncpg') if m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL", "STORAGE_URL")}
    env["SECRET_KEY"] = "test-secret-test-secret-test-secret"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.split() == [], loaded.stdout
