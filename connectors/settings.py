"""The one place that reads the environment: paths and switches for local and production runs.

| variable | default |
|---|---|
| NORDLEDGER_COMPANIES_FILE | <project>/companies.yaml |
| NORDLEDGER_DATA_DIR | <project>/data |
| NORDLEDGER_LAKE_ROOT | <data>/lake |
| NORDLEDGER_WAREHOUSE_DIR | <data>/warehouse (build.duckdb and the published warehouse.duckdb) |
| NORDLEDGER_SECRETS_DIR | <data>/secrets (bank tokens, owner-only files) |
| NORDLEDGER_DBT_TARGET | local |
| NORDLEDGER_HTTP_TIMEOUT, _MAX_ATTEMPTS, _BASE_DELAY | per API (60 s; Netvisor 180 s), 6 attempts, 0.5 s |
| NORDLEDGER_HTTP_DEADLINE | per API: 120 s (Netvisor 600 s), and never below the timeout; one attempt, connect to last byte |
| NORDLEDGER_HTTP_MAX_BODY_MB | per API: 32 MB (Netvisor 128 MB; an over-cap ledger window is asked for in halves) |
| NORDLEDGER_VOLUME_GUARD_MAX_SHRINK | 0.5: a partition may lose at most half its rows without an explicit decision |
| NORDLEDGER_GROUP_READ | unset: lake, warehouse and instance files are owner-only; 1: group-readable (BI) |
| NORDLEDGER_EXECUTOR | in_process: a run's steps share its process; multiprocess: a process per step |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The first is the default; the last two need the scale extra.
EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")


@dataclass(frozen=True)
class Settings:
    companies_file: Path
    lake_root: Path
    warehouse_dir: Path
    secrets_dir: Path
    dbt_target: str
    http_timeout: float | None = None  # None: each API's own default
    http_max_attempts: int = 6
    http_base_delay: float = 0.5
    http_deadline: float | None = None  # seconds per attempt; None: each API's own default
    http_max_body_mb: float | None = None  # MiB per answer; None: each API's own default
    volume_guard_max_shrink: float = 0.5  # share of a partition's stored rows it may lose unasked
    group_read: bool = False  # files the pipeline writes readable by the owner's group, never by others
    executor: str = "in_process"  # how a run executes its steps: one of EXECUTORS

    @property
    def http_max_body_bytes(self) -> int | None:
        """The body cap in bytes, as `RetryPolicy.max_body_bytes` takes it."""
        return None if self.http_max_body_mb is None else int(self.http_max_body_mb * 1024 * 1024)

    @property
    def build_db(self) -> Path:
        """The DuckDB file dbt writes; only dbt and the publish step open it read-write."""
        return self.warehouse_dir / "build.duckdb"

    @property
    def published_db(self) -> Path:
        """The read-only copy BI tools open."""
        return self.warehouse_dir / "warehouse.duckdb"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def path(name: str, default: Path) -> Path:
        value = env.get(name)
        return Path(value).expanduser().resolve() if value else default

    def positive(name: str) -> float | None:
        value = env.get(name, "").strip()
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
        if not number > 0:
            raise ValueError(f"{name} must be greater than 0, got {value!r}")
        return number

    def share(name: str, default: float) -> float:
        number = positive(name)
        if number is None:
            return default
        if number >= 1:
            raise ValueError(f"{name} must be a share below 1 (0.5 = half the stored rows), got {number}")
        return number

    def choice(name: str, allowed: tuple[str, ...]) -> str:
        value = env.get(name, "").strip() or allowed[0]
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        return value

    data_dir = path("NORDLEDGER_DATA_DIR", PROJECT_ROOT / "data")
    return Settings(
        companies_file=path("NORDLEDGER_COMPANIES_FILE", PROJECT_ROOT / "companies.yaml"),
        lake_root=path("NORDLEDGER_LAKE_ROOT", data_dir / "lake"),
        warehouse_dir=path("NORDLEDGER_WAREHOUSE_DIR", data_dir / "warehouse"),
        secrets_dir=path("NORDLEDGER_SECRETS_DIR", data_dir / "secrets"),
        dbt_target=env.get("NORDLEDGER_DBT_TARGET", "local"),
        http_timeout=float(env["NORDLEDGER_HTTP_TIMEOUT"]) if env.get("NORDLEDGER_HTTP_TIMEOUT") else None,
        http_max_attempts=int(env.get("NORDLEDGER_HTTP_MAX_ATTEMPTS", "6")),
        http_base_delay=float(env.get("NORDLEDGER_HTTP_BASE_DELAY", "0.5")),
        http_deadline=positive("NORDLEDGER_HTTP_DEADLINE"),
        http_max_body_mb=positive("NORDLEDGER_HTTP_MAX_BODY_MB"),
        volume_guard_max_shrink=share("NORDLEDGER_VOLUME_GUARD_MAX_SHRINK", 0.5),
        group_read=env.get("NORDLEDGER_GROUP_READ", "").strip().lower() in ("1", "true", "yes"),
        executor=choice("NORDLEDGER_EXECUTOR", EXECUTORS),
    )


def read_secret(name: str) -> str | None:
    """Read a credential from the environment at run time (never at import)."""
    return os.environ.get(name)
