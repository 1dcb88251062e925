"""Throwaway servers on 127.0.0.1 for `make test-scale`: a PostgreSQL cluster and a Redis, each in its own
temporary folder on a free port, stopped and removed afterwards."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it listened on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def postgres_bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"{name} not found: `make test-scale` installs Debian's postgresql package")
    return found


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str

    def env(self, database: str) -> dict[str, str]:
        """What orchestration/instance/dagster.prod.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": database,
        }


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its programs as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextlib.contextmanager
def postgres(databases: tuple[str, ...]) -> Iterator[Postgres]:
    """A fresh cluster (password authentication, loopback only), with `databases` created."""
    import psycopg2

    root = Path(tempfile.mkdtemp(prefix="nordledger-pg-"))
    password = secrets.token_urlsafe(16)
    (root / "pw").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pw", "postgres")
    user, port = "nordledger", free_port()
    data = root / "data"
    subprocess.run(
        [*_as_server_user(), postgres_bin("initdb"), "-D", str(data), "-U", user, f"--pwfile={root / 'pw'}",
         "--auth=scram-sha-256", "--encoding=UTF8", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    # Durability off: a throwaway test cluster (never a setting for a real instance).
    server = subprocess.Popen(
        [*_as_server_user(), postgres_bin("postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
         "-k", str(root), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        stdout=subprocess.DEVNULL, stderr=open(root / "server.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    try:
        wait_for_port(port, server, "postgres")
        for _ in range(50):  # listening a moment before it accepts logins
            try:
                con = psycopg2.connect(host="127.0.0.1", port=port, user=user, password=password, dbname="postgres")
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"postgres on {port} accepts no login: {(root / 'server.log').read_text()[-2000:]}")
        con.autocommit = True
        with con.cursor() as cur:
            for name in databases:
                cur.execute(f'create database "{name}"')
        con.close()
        yield Postgres("127.0.0.1", port, user, password)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A Redis without persistence; yields its URL."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server not found: `make test-scale` installs Debian's redis-server package")
    root, port = Path(tempfile.mkdtemp(prefix="nordledger-redis-")), free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def env(self, prefix: str) -> dict[str, str]:
        """What connectors.settings and the AWS SDKs read for a lake at s3://<bucket>/<prefix>."""
        return {
            "NORDLEDGER_LAKE_URL": f"s3://{self.bucket}/{prefix}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }


@contextlib.contextmanager
def s3(bucket: str = "nordledger-lake") -> Iterator[S3]:
    """moto's S3 server in its own process, with one empty bucket."""
    import sys

    import pyarrow.fs as pafs

    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="nordledger-moto-"))
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "moto.log", "wb"),  # noqa: SIM115
    )
    try:
        wait_for_port(port, server, "moto_server")
        found = S3(f"http://127.0.0.1:{port}", bucket, "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24))
        fs = pafs.S3FileSystem(
            access_key=found.access_key,
            secret_key=found.secret_key,
            endpoint_override=f"127.0.0.1:{port}",
            scheme="http",
            region="eu-north-1",
            allow_bucket_creation=True,
        )
        fs.create_dir(bucket)
        yield found
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)
