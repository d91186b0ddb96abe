"""Settings from environment variables, with defaults that need nothing installed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://var/exam-review.sqlite3"
    storage_url: str = "file://var/files"
    broker_url: str = "memory://"
    secret_key: str = ""
    var_dir: Path = Path("var")
    timezone: str = "Asia/Shanghai"
    # Sign-in
    token_ttl_seconds: int = 12 * 3600
    throttle_window_seconds: int = 15 * 60
    throttle_per_username: int = 10
    throttle_per_address: int = 50
    # Uploads
    max_body_bytes: int = 1024 * 1024
    min_image_side: int = 300
    max_image_pixels: int = 40_000_000
    thumbnail_side: int = 320
    picture_url_ttl_seconds: int = 600
    # Review
    reply_hours: int = 24
    # GraphQL limits
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_aliases: int = 30
    orphan_grace_seconds: int = 3600
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("VAR_DIR", "var"))
        settings = cls(
            database_url=env.get("DATABASE_URL", f"sqlite://{var_dir}/exam-review.sqlite3"),
            storage_url=env.get("STORAGE_URL", f"file://{var_dir}/files"),
            broker_url=env.get("BROKER_URL", "memory://"),
            secret_key=env.get("SECRET_KEY", ""),
            var_dir=var_dir,
            timezone=env.get("TIMEZONE", "Asia/Shanghai"),
            token_ttl_seconds=_int(env, "TOKEN_TTL_SECONDS", cls.token_ttl_seconds),
            throttle_window_seconds=_int(
                env, "THROTTLE_WINDOW_SECONDS", cls.throttle_window_seconds
            ),
            throttle_per_username=_int(env, "THROTTLE_PER_USERNAME", cls.throttle_per_username),
            throttle_per_address=_int(env, "THROTTLE_PER_ADDRESS", cls.throttle_per_address),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", cls.max_body_bytes),
            min_image_side=_int(env, "MIN_IMAGE_SIDE", cls.min_image_side),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", cls.max_image_pixels),
            picture_url_ttl_seconds=_int(
                env, "PICTURE_URL_TTL_SECONDS", cls.picture_url_ttl_seconds
            ),
            reply_hours=_int(env, "REPLY_HOURS", cls.reply_hours),
        )
        return settings.with_secret()

    def with_secret(self) -> Settings:
        """Fill in SECRET_KEY from var/secret_key, creating it on first run."""
        if self.secret_key:
            return self
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48), encoding="utf-8")
            os.chmod(tmp, 0o600)
            # Another worker may have won the race; both keys are random, keep the first.
            if not path.exists():
                os.replace(tmp, path)
            else:
                tmp.unlink(missing_ok=True)
        return replace(self, secret_key=path.read_text(encoding="utf-8").strip())

    def tortoise_config(self) -> dict[str, Any]:
        url = self.database_url
        if url.startswith("sqlite://"):
            path = Path(url.removeprefix("sqlite://"))
            path.parent.mkdir(parents=True, exist_ok=True)
        connection: Any = url
        if url.startswith("sqlite://"):
            connection = {
                "engine": "tortoise.backends.sqlite",
                "credentials": {
                    "file_path": url.removeprefix("sqlite://"),
                    "journal_mode": "WAL",
                    "busy_timeout": 10000,
                    "synchronous": "NORMAL",
                },
            }
        return {
            "connections": {"default": connection},
            "apps": {
                "models": {
                    "models": ["models"],
                    "default_connection": "default",
                    "migrations": "models.migrations",
                }
            },
            "use_tz": True,
            "timezone": "UTC",
        }
