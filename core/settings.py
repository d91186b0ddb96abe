"""Settings from environment variables, with defaults that need nothing installed.

Read once, when a process starts and before any library touches the environment (Tortoise
writes TIMEZONE=UTC into os.environ when it connects), then passed down. Worker processes
that uvicorn spawns receive the same values through `SETTINGS_ENV` (see `to_json`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from storage.measures import QualityThresholds

# The settings a parent process read, handed to the workers it spawns.
SETTINGS_ENV = "EXAM_REVIEW_SETTINGS_JSON"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else default


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
    # A request body must arrive in full within this time (slow-trickle uploads are cut off).
    body_read_timeout_seconds: int = 30
    min_image_side: int = 300
    max_image_pixels: int = 40_000_000
    thumbnail_side: int = 320
    picture_url_ttl_seconds: int = 600
    # Picture quality warnings: see storage/measures.py QualityThresholds and tests/README.md
    quality_blurry_below: float = QualityThresholds.blurry_below
    quality_dark_below: float = QualityThresholds.dark_below
    quality_dark_detail_below: float = QualityThresholds.dark_detail_below
    quality_bright_above: float = QualityThresholds.bright_above
    quality_scan_sharpness: float = QualityThresholds.scan_sharpness
    quality_glare_above: float = QualityThresholds.glare_above
    quality_glare_page_share: float = QualityThresholds.glare_page_share
    # Perceptual-hash distance (of 64 bits) within which two pictures count as the same
    lookalike_distance: int = 6
    # Look-alikes kept per picture at upload and listed per picture: the nearest this many.
    lookalikes_kept: int = 50
    # How long a serving process keeps the category catalog before reading it again (an import
    # from the command line reaches it within this time; 0 reads it on every request).
    catalog_cache_seconds: float = 10.0
    # Review
    reply_hours: int = 24
    # How long an examiner's review claim lasts unless renewed.
    review_claim_minutes: int = 15
    # GraphQL limits
    max_query_depth: int = 10
    max_query_tokens: int = 2000
    max_aliases: int = 30
    orphan_grace_seconds: int = 3600
    # SMS and webhooks (the outbox and its sender)
    sms_sender_enabled: bool = True
    sms_gateway: str = "log"  # log | http
    sms_http_url: str = ""
    sms_http_secret: str = ""  # HMAC key for the http gateway; SECRET_KEY when empty
    sms_merge_seconds: int = 30
    sender_poll_seconds: float = 1.0
    sender_lease_seconds: int = 60
    sender_batch: int = 20
    sender_max_attempts: int = 6
    sender_backoff_base_seconds: float = 10.0
    sender_backoff_cap_seconds: float = 900.0
    sender_timeout_seconds: float = 10.0
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str = ""  # HMAC key for webhooks; SECRET_KEY when empty
    # Reason codes for setAttachmentVerdict, "CODE=label" pairs in order.
    verdict_reasons: tuple[str, ...] = (
        "BLURRY=模糊不清",
        "INCOMPLETE=信息不全或有遮挡",
        "ORIENTATION=方向不正",
        "MISMATCH=与报名信息不一致",
        "NOT_OWN=非本人材料",
        "EXPIRED=证件过期",
        "OTHER=其他",
    )
    # Operations: /metrics from loopback, or with this bearer token from elsewhere.
    metrics_token: str = ""
    # Database figures on /metrics are read at most this often per worker.
    metrics_cache_seconds: float = 10.0
    # prometheus-client's multiprocess directory; `serve --workers N` makes one per run.
    metrics_dir: str = ""
    # The picture access log is written in batches: every this many seconds or rows.
    access_log_flush_seconds: float = 1.0
    access_log_batch: int = 200
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
            body_read_timeout_seconds=_int(
                env, "BODY_READ_TIMEOUT_SECONDS", cls.body_read_timeout_seconds
            ),
            orphan_grace_seconds=_int(env, "ORPHAN_GRACE_SECONDS", cls.orphan_grace_seconds),
            min_image_side=_int(env, "MIN_IMAGE_SIDE", cls.min_image_side),
            max_image_pixels=_int(env, "MAX_IMAGE_PIXELS", cls.max_image_pixels),
            picture_url_ttl_seconds=_int(
                env, "PICTURE_URL_TTL_SECONDS", cls.picture_url_ttl_seconds
            ),
            reply_hours=_int(env, "REPLY_HOURS", cls.reply_hours),
            review_claim_minutes=_int(env, "REVIEW_CLAIM_MINUTES", cls.review_claim_minutes),
            quality_blurry_below=_float(env, "QUALITY_BLURRY_BELOW", cls.quality_blurry_below),
            quality_dark_below=_float(env, "QUALITY_DARK_BELOW", cls.quality_dark_below),
            quality_dark_detail_below=_float(
                env, "QUALITY_DARK_DETAIL_BELOW", cls.quality_dark_detail_below
            ),
            quality_bright_above=_float(env, "QUALITY_BRIGHT_ABOVE", cls.quality_bright_above),
            quality_scan_sharpness=_float(
                env, "QUALITY_SCAN_SHARPNESS", cls.quality_scan_sharpness
            ),
            quality_glare_above=_float(env, "QUALITY_GLARE_ABOVE", cls.quality_glare_above),
            quality_glare_page_share=_float(
                env, "QUALITY_GLARE_PAGE_SHARE", cls.quality_glare_page_share
            ),
            lookalike_distance=_int(env, "LOOKALIKE_DISTANCE", cls.lookalike_distance),
            lookalikes_kept=_int(env, "LOOKALIKES_KEPT", cls.lookalikes_kept),
            catalog_cache_seconds=_float(env, "CATALOG_CACHE_SECONDS", cls.catalog_cache_seconds),
            sms_sender_enabled=env.get("SMS_SENDER", "on").lower() not in ("off", "0", "false"),
            sms_gateway=env.get("SMS_GATEWAY", cls.sms_gateway),
            sms_http_url=env.get("SMS_HTTP_URL", ""),
            sms_http_secret=env.get("SMS_HTTP_SECRET", ""),
            sms_merge_seconds=_int(env, "SMS_MERGE_SECONDS", cls.sms_merge_seconds),
            sender_max_attempts=_int(env, "SENDER_MAX_ATTEMPTS", cls.sender_max_attempts),
            sender_backoff_base_seconds=float(
                env.get("SENDER_BACKOFF_BASE_SECONDS") or cls.sender_backoff_base_seconds
            ),
            sender_backoff_cap_seconds=float(
                env.get("SENDER_BACKOFF_CAP_SECONDS") or cls.sender_backoff_cap_seconds
            ),
            webhook_urls=tuple(u for u in env.get("WEBHOOK_URLS", "").split(",") if u.strip()),
            webhook_secret=env.get("WEBHOOK_SECRET", ""),
            verdict_reasons=tuple(
                r.strip() for r in env.get("VERDICT_REASONS", "").split(",") if r.strip()
            ) or cls.verdict_reasons,
            metrics_token=env.get("METRICS_TOKEN", ""),
            metrics_cache_seconds=float(
                env.get("METRICS_CACHE_SECONDS") or cls.metrics_cache_seconds
            ),
        )
        return settings.with_secret()

    def to_json(self) -> str:
        values = dataclasses.asdict(self)
        values["var_dir"] = str(self.var_dir)
        return json.dumps(values, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        values = json.loads(text)
        values["var_dir"] = Path(values["var_dir"])
        for f in dataclasses.fields(cls):
            if isinstance(values.get(f.name), list):
                values[f.name] = tuple(values[f.name])
        return cls(**values)

    @classmethod
    def for_process(cls, env: Mapping[str, str] | None = None) -> Settings:
        """What a worker process runs with: its parent's settings when it was given them."""
        env = os.environ if env is None else env
        handed_down = env.get(SETTINGS_ENV)
        return cls.from_json(handed_down) if handed_down else cls.from_env(env)

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

    def quality_thresholds(self) -> QualityThresholds:
        return QualityThresholds(
            blurry_below=self.quality_blurry_below,
            dark_below=self.quality_dark_below,
            dark_detail_below=self.quality_dark_detail_below,
            bright_above=self.quality_bright_above,
            scan_sharpness=self.quality_scan_sharpness,
            glare_above=self.quality_glare_above,
            glare_page_share=self.quality_glare_page_share,
        )

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
        elif url.startswith(("postgres://", "asyncpg://")):
            connection = expand_db_url(url)
            connection["credentials"]["reset"] = _keep_session
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


async def _keep_session(connection: object) -> None:
    """asyncpg's pool `reset`: nothing to reset. By default every release of a pooled
    connection sends RESET ALL, UNLISTEN, advisory-unlock and CLOSE ALL, one more round trip
    per statement outside a transaction; the service sets no session state, holds no
    session-level locks and listens on nothing, so there is nothing for it to undo.
    (asyncpg still rolls back a transaction left open before it calls this.)"""
