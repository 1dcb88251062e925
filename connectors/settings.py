"""The one place that reads the environment: paths and switches for local and production runs.

| variable | default |
|---|---|
| NORDLEDGER_COMPANIES_FILE | <project>/companies.yaml |
| NORDLEDGER_DATA_DIR | <project>/data |
| NORDLEDGER_LAKE_ROOT | <data>/lake |
| NORDLEDGER_LAKE_URL | unset: the lake is the folder above; s3://bucket/prefix: on S3-compatible object storage |
| AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_REGION or AWS_DEFAULT_REGION | the S3 lake's server (unset: AWS) and region (us-east-1); its credentials are the AWS SDK's own (AWS_ACCESS_KEY_ID, ...) |
| NORDLEDGER_WAREHOUSE_DIR | <data>/warehouse (build.duckdb and the published warehouse.duckdb) |
| NORDLEDGER_SECRETS_DIR | <data>/secrets (bank tokens, owner-only files) |
| NORDLEDGER_DBT_TARGET | local (local_s3 when the lake is on S3) |
| NORDLEDGER_HTTP_TIMEOUT, _MAX_ATTEMPTS, _BASE_DELAY | per API (60 s; Netvisor 180 s), 6 attempts, 0.5 s |
| NORDLEDGER_HTTP_DEADLINE | per API: 120 s (Netvisor 600 s), and never below the timeout; one attempt, connect to last byte |
| NORDLEDGER_HTTP_MAX_BODY_MB | per API: 32 MB (Netvisor 128 MB; an over-cap ledger window is asked for in halves) |
| NORDLEDGER_VOLUME_GUARD_MAX_SHRINK | 0.5: a partition may lose at most half its rows without an explicit decision |
| NORDLEDGER_GROUP_READ | unset: lake, warehouse and instance files are owner-only; 1: group-readable (BI) |
| NORDLEDGER_EXECUTOR | in_process: a run's steps share its process; multiprocess: a process per step |
| NORDLEDGER_MARTS_PG_HOST, _PORT, _DB, _USER, _PASSWORD | unset: the marts are published to the DuckDB file only; set: to PostgreSQL too (port 5432) |
| NORDLEDGER_MARTS_PG_SCHEMA, _READER, _SSLMODE | marts, nordledger_bi (the read-only role BI users are granted), prefer |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The first is the default; the last two need the scale extra.
EXECUTORS = ("in_process", "multiprocess", "celery", "k8s")


MARTS_PG_PASSWORD = "NORDLEDGER_MARTS_PG_PASSWORD"  # read when the publish step runs, never kept in settings


@dataclass(frozen=True)
class MartsPostgres:
    """Where the published marts also go for BI tools (no password: that is read at run time)."""

    host: str
    port: int = 5432
    database: str = "nordledger"
    user: str = "nordledger"
    schema: str = "marts"
    reader_role: str = "nordledger_bi"
    sslmode: str = "prefer"


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
    lake_url: str | None = None  # s3://bucket/prefix: the lake on object storage instead of lake_root
    s3_endpoint: str | None = None  # an S3-compatible server's URL (None: AWS)
    s3_region: str | None = None
    marts_postgres: MartsPostgres | None = None  # None: the marts go to the DuckDB file only

    @property
    def lake_location(self) -> str:
        """Where the lake is, as the lake store and dbt's lake_root var take it."""
        return self.lake_url or str(self.lake_root)

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
        dbt_target=dbt_target(env),
        http_timeout=float(env["NORDLEDGER_HTTP_TIMEOUT"]) if env.get("NORDLEDGER_HTTP_TIMEOUT") else None,
        http_max_attempts=int(env.get("NORDLEDGER_HTTP_MAX_ATTEMPTS", "6")),
        http_base_delay=float(env.get("NORDLEDGER_HTTP_BASE_DELAY", "0.5")),
        http_deadline=positive("NORDLEDGER_HTTP_DEADLINE"),
        http_max_body_mb=positive("NORDLEDGER_HTTP_MAX_BODY_MB"),
        volume_guard_max_shrink=share("NORDLEDGER_VOLUME_GUARD_MAX_SHRINK", 0.5),
        group_read=env.get("NORDLEDGER_GROUP_READ", "").strip().lower() in ("1", "true", "yes"),
        executor=choice("NORDLEDGER_EXECUTOR", EXECUTORS),
        lake_url=lake_url(env.get("NORDLEDGER_LAKE_URL", "").strip()),
        s3_endpoint=s3_endpoint((env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or "").strip()),
        s3_region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None,
        marts_postgres=marts_postgres(env),
    )


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")  # libpq's
PG_NAME = re.compile(r"[a-z][a-z0-9_]{0,52}")  # plain identifiers; room for the staging schema's suffix


def marts_postgres(env: Mapping[str, str]) -> MartsPostgres | None:
    """The marts' PostgreSQL copy, checked when the settings load (not first when the publish step runs)."""

    def get(name: str, default: str) -> str:
        return env.get(f"NORDLEDGER_MARTS_PG_{name}", "").strip() or default

    host = get("HOST", "")
    if not host:
        orphans = sorted(k for k, v in env.items() if k.startswith("NORDLEDGER_MARTS_PG_") and v.strip())
        if orphans:
            raise ValueError(f"{', '.join(orphans)} set but NORDLEDGER_MARTS_PG_HOST is not: set it, or unset them")
        return None
    port = get("PORT", "5432")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"NORDLEDGER_MARTS_PG_PORT must be a port number, got {port!r}")
    # beyond loopback, refuse a connection an attacker on the way could downgrade to clear text
    sslmode = get("SSLMODE", "prefer" if host in LOOPBACK_HOSTS else "require")
    if sslmode not in SSLMODES:
        raise ValueError(f"NORDLEDGER_MARTS_PG_SSLMODE must be one of {', '.join(SSLMODES)}, got {sslmode!r}")
    target = MartsPostgres(
        host=host,
        port=int(port),
        database=get("DB", "nordledger"),
        user=get("USER", "nordledger"),
        schema=get("SCHEMA", "marts"),
        reader_role=get("READER", "nordledger_bi"),
        sslmode=sslmode,
    )
    for name, value in (("SCHEMA", target.schema), ("READER", target.reader_role)):
        if not PG_NAME.fullmatch(value) or value == "public" or value.startswith("pg_"):
            raise ValueError(
                f"NORDLEDGER_MARTS_PG_{name} must be a plain PostgreSQL name (lowercase letters, digits and _, "
                f"starting with a letter, at most 53 characters; not public or pg_*), got {value!r}"
            )
    return target


def lake_url(value: str) -> str | None:
    """s3://bucket[/prefix], normalised (no trailing /); refused when dbt's glob and pyarrow's keys could differ."""
    if not value:
        return None
    bucket, _, prefix = value.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/")
    if (
        not value.startswith("s3://")
        or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket)
        or "//" in prefix
        or prefix.startswith("/")
        or re.search(r"[*?\[\]{}\s\\]", prefix)
    ):
        raise ValueError(
            f"NORDLEDGER_LAKE_URL must be s3://bucket[/prefix] (an S3 bucket name; a prefix without empty parts, "
            f"blanks or glob characters), got {value!r}"
        )
    return f"s3://{bucket}" + (f"/{prefix}" if prefix else "")


def s3_endpoint(value: str) -> str | None:
    """An S3-compatible server's URL: scheme and host (and port), nothing else."""
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path not in ("", "/"):
        raise ValueError(f"AWS_ENDPOINT_URL must be http(s)://host[:port], got {value!r}")
    return f"{parsed.scheme}://{parsed.netloc}"


def dbt_target(env: Mapping[str, str]) -> str:
    """NORDLEDGER_DBT_TARGET, by default the one that reads the lake where it is (local_s3 loads httpfs)."""
    on_s3 = bool(env.get("NORDLEDGER_LAKE_URL", "").strip())
    target = env.get("NORDLEDGER_DBT_TARGET", "").strip() or ("local_s3" if on_s3 else "local")
    if on_s3 and target == "local":
        raise ValueError(
            "NORDLEDGER_DBT_TARGET=local cannot read a lake on S3 (NORDLEDGER_LAKE_URL): use local_s3, or leave it unset"
        )
    return target


def read_secret(name: str) -> str | None:
    """Read a credential from the environment at run time (never at import)."""
    return os.environ.get(name)
