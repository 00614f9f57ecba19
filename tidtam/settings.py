"""The one settings object, read from the environment (and an optional `.env` file).

Nothing reads configuration at import time: callers build `Settings()` at their entry point
(the CLI, the service factory, a test fixture) and pass it down.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "tidtam.sqlite3"
REAL_LINE_API = "https://api.line.me"


class Settings(BaseSettings):
    """Everything Tidtam can be configured with. Secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        validation_alias="TIDTAM_DATABASE_URL",
        description="SQLAlchemy URL; SQLite file by default, PostgreSQL in production.",
    )
    line_channel_secret: SecretStr = Field(default=SecretStr(""), validation_alias="LINE_CHANNEL_SECRET")
    line_channel_access_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="LINE_CHANNEL_ACCESS_TOKEN"
    )
    line_api_base_url: str = Field(default="https://api.line.me", validation_alias="LINE_API_BASE_URL")
    line_data_api_base_url: str = Field(
        default="https://api-data.line.me", validation_alias="LINE_DATA_API_BASE_URL"
    )
    timezone: str = Field(default="Asia/Bangkok", validation_alias="TIDTAM_TIMEZONE")
    public_url: str = Field(default="http://127.0.0.1:8000", validation_alias="TIDTAM_PUBLIC_URL")
    media_dir: Path = Field(default=Path("var") / "media", validation_alias="TIDTAM_MEDIA_DIR")
    host: str = Field(default="127.0.0.1", validation_alias="TIDTAM_HOST")
    port: int = Field(default=8000, validation_alias="TIDTAM_PORT")
    log_level: str = Field(default="INFO", validation_alias="TIDTAM_LOG_LEVEL")
    process_steps_file: Path | None = Field(default=None, validation_alias="TIDTAM_PROCESS_STEPS_FILE")
    line_timeout_seconds: float = Field(default=10.0, validation_alias="TIDTAM_LINE_TIMEOUT_SECONDS")
    event_workers: int = Field(
        default=8,
        validation_alias="TIDTAM_EVENT_WORKERS",
        description="Threads that process webhook events; 0 acknowledges and stores only.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        validation_alias="TIDTAM_WORKERS",
        description=(
            "`tidtam worker` processes `tidtam serve` starts (PostgreSQL; SQLite runs one): they share the "
            "users between them, each user's events handled in order by one at a time."
        ),
    )
    event_processing: Literal["inline", "worker"] = Field(
        default="worker",
        validation_alias="TIDTAM_EVENT_PROCESSING",
        description=(
            "worker: `tidtam serve` starts a `tidtam worker` process that handles events and runs the "
            "scheduler, so acknowledging webhooks never waits behind them; inline: all in one process."
        ),
    )
    worker_priority: str = Field(
        default="10",
        pattern=r"^(idle|1?[0-9])$",
        validation_alias="TIDTAM_WORKER_PRIORITY",
        description=(
            "CPU priority of the worker `tidtam serve` starts: a nice value 0-19 (higher yields more to "
            "the web process), or idle (Linux SCHED_IDLE: only CPU nothing else wants; acknowledges "
            "floods fastest, but replies wait whenever anything else keeps the CPU busy)."
        ),
    )
    flood_rate: int = Field(
        default=1000,
        ge=0,
        validation_alias="TIDTAM_FLOOD_RATE",
        description=(
            "Webhook events arriving per second that make a flood: the worker then holds handling back, "
            "so acknowledging comes first, until they arrive at half that rate or the oldest event has "
            "waited 20 s. Far above what one office's staff send; 0: never."
        ),
    )
    approval_levels: int = Field(
        default=1,
        ge=1,
        le=2,
        validation_alias="TIDTAM_APPROVAL_LEVELS",
        description="1: the director's decision is final; 2: the planning group verifies after the director.",
    )
    monthly_message_quota: int = Field(default=300, validation_alias="TIDTAM_MONTHLY_MESSAGE_QUOTA")
    hold_for_replies: bool = Field(
        default=True,
        validation_alias="TIDTAM_HOLD_FOR_REPLIES",
        description=(
            "Approval requests and decision notices wait for the person's next free reply or their next "
            "daily message (one push a day) instead of a push each at once."
        ),
    )
    # Link-code guessing, on top of the per-account lockout (models/linking.py); 0 switches a limit off.
    link_tries_per_office_per_hour: int = Field(
        default=100,
        ge=0,
        validation_alias="TIDTAM_LINK_TRIES_PER_OFFICE_PER_HOUR",
        description="Link-code tries (right or wrong) on the codes of one office (a school) per hour.",
    )
    link_tries_per_hour: int = Field(
        default=3000,
        ge=0,
        validation_alias="TIDTAM_LINK_TRIES_PER_HOUR",
        description="Wrong link-code tries per hour from all LINE accounts together.",
    )
    # The dashboard's exports (dashboard/exports.py): a column mapping replacing the default one.
    export_columns_file: Path | None = Field(default=None, validation_alias="TIDTAM_EXPORT_COLUMNS_FILE")
    # The scheduler (scheduler/): rules file, daily tick time and quiet hours ("20:00-07:00") override
    # scheduler/data/rules.toml when set.
    scheduler_enabled: bool = Field(default=True, validation_alias="TIDTAM_SCHEDULER_ENABLED")
    rules_file: Path | None = Field(default=None, validation_alias="TIDTAM_RULES_FILE")
    tick_time: str | None = Field(default=None, validation_alias="TIDTAM_TICK_TIME")
    quiet_hours: str | None = Field(default=None, validation_alias="TIDTAM_QUIET_HOURS")
    tick_plan_workers: int | None = Field(
        default=None,
        ge=0,
        validation_alias="TIDTAM_TICK_PLAN_WORKERS",
        description=(
            "Processes the daily tick forks to plan beside its own (0 or 1); unset: one for an office of "
            "10,000 people or more on a machine of 2 or more cores."
        ),
    )
    tick_build_workers: int | None = Field(
        default=None,
        ge=0,
        validation_alias="TIDTAM_TICK_BUILD_WORKERS",
        description=(
            "Processes the daily tick forks to build its outbox rows while it stores them; unset: one from "
            "5,000 rows on a machine of 2 or more cores; 0: built in the tick's own process."
        ),
    )
    dispatch_interval_seconds: float = Field(default=5.0, validation_alias="TIDTAM_DISPATCH_INTERVAL_SECONDS")
    # The service's clock (scheduler/clock.py): an ISO date-time the clock starts from and runs on.
    now: str | None = Field(
        default=None,
        validation_alias="TIDTAM_NOW",
        description=(
            "Start the clock at this ISO date-time and let it run on (demos, simulations, tests); a date "
            "alone or a time without an offset is in the office's time zone. `serve` refuses it with a "
            "real LINE channel."
        ),
    )

    @field_validator("line_api_base_url", "line_data_api_base_url", "public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        # The SDK appends paths such as /v2/bot/...; a trailing slash would double it.
        return value.rstrip("/")

    @field_validator("now")
    @classmethod
    def _readable_instant(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from scheduler.clock import parse_instant

        parse_instant(value, ZoneInfo("UTC"))  # raises ValueError for what is not an ISO date-time
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def now_at(self) -> datetime | None:
        """TIDTAM_NOW as an aware datetime (a date alone, or a naive time, in the office's zone)."""
        from scheduler.clock import parse_instant

        return None if self.now is None else parse_instant(self.now, self.tz)

    @property
    def real_line_channel(self) -> bool:
        """Whether this talks to LINE itself: a credential is set and the API is LINE's own."""
        credentials = (
            self.line_channel_secret.get_secret_value() or self.line_channel_access_token.get_secret_value()
        )
        return bool(credentials) and self.line_api_base_url == REAL_LINE_API

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
