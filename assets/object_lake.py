"""The lake on S3-compatible object storage: the folder lake's layout, its volume guard and its trash.

S3 has no rename, and an upload stream that fails still completes its object when it is closed. So a
partition is written whole to a staging key beside it (`.tmp-<uuid>`, which no reader's `*.parquet`
glob matches), copied onto `part-0.parquet` only after a clean close, and the staging object deleted.
A copy replaces the final object in one step, so readers see the old file or the new one; a writer
killed at any point leaves the previous partition as it was, and at most a staging object, which a
later write of the partition sweeps once it is `STALE_AFTER_SECONDS` old (its writer may live on
another host, so age is the only safe test). Incomplete multipart uploads of a killed writer are
invisible; a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes them.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from assets.lake import (
    ARCHIVE,
    PART,
    PRIVATE,
    STALE_AFTER_SECONDS,
    TMP_PREFIX,
    TRASH,
    Modes,
    StoredCompany,
    VolumeGuard,
    WrittenPartition,
    check_partition_names,
    write_row_groups,
)


@dataclass(frozen=True)
class S3Location:
    """`s3://bucket/prefix` and how to reach it (the AWS SDK's usual variables, read by connectors.settings)."""

    url: str
    endpoint: str | None = None  # e.g. http://127.0.0.1:9000 for an S3-compatible server; None: AWS
    region: str | None = None

    @property
    def bucket_and_prefix(self) -> str:
        parsed = urlparse(self.url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"NORDLEDGER_LAKE_URL must look like s3://bucket/prefix, got {self.url!r}")
        return (parsed.netloc + "/" + parsed.path.strip("/")).rstrip("/")

    def filesystem(self) -> pafs.S3FileSystem:
        """Credentials come from the AWS SDK's chain (AWS_ACCESS_KEY_ID and _SECRET_ACCESS_KEY, a profile, a role)."""
        options: dict = {"region": self.region or "us-east-1"}
        if self.endpoint:
            parsed = urlparse(self.endpoint)
            options["endpoint_override"] = parsed.netloc or parsed.path
            options["scheme"] = parsed.scheme or "https"
        return pafs.S3FileSystem(**options)


READ_ATTEMPTS = 4


class ObjectLake:
    """The lake under one S3 prefix; partitions are keys, `str` paths as pyarrow's S3FileSystem takes them."""

    def __init__(self, location: S3Location, filesystem: pafs.FileSystem | None = None):
        self.location = location
        self.url = location.url.rstrip("/")
        self.base = location.bucket_and_prefix
        self.fs = filesystem or location.filesystem()

    def partition(self, source: str, endpoint: str, company: str, fiscal_year: str | None) -> str:
        check_partition_names(source, endpoint, company, fiscal_year)
        key = f"{self.base}/raw/{source}/{endpoint}/company={company}"
        return key if fiscal_year is None else f"{key}/fiscal_year={fiscal_year}"

    def display(self, partition: str) -> str:
        return "s3://" + partition

    def _info(self, key: str) -> pafs.FileInfo:
        return self.fs.get_file_info(key)

    def _listing(self, prefix: str, recursive: bool = False) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(prefix, allow_not_found=True, recursive=recursive)
        return [i for i in self.fs.get_file_info(selector) if i.type == pafs.FileType.File]

    def open_stored(self, partition: str) -> pq.ParquetFile | None:
        """The partition's file, read whole in one GET: a copy that replaces it meanwhile cannot mix two
        versions into one read (range requests could). It can make the read fail (the GET asks for the size
        the HEAD before it saw), which is then tried again, a few times."""
        for attempt in range(READ_ATTEMPTS):
            if not self.has_partition(partition):
                return None
            try:
                with self.fs.open_input_file(f"{partition}/{PART}") as stored:
                    return pq.ParquetFile(pa.BufferReader(stored.read()))
            except (pa.ArrowInvalid, OSError):
                if attempt == READ_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        return None

    def has_partition(self, partition: str) -> bool:
        return self._info(f"{partition}/{PART}").type == pafs.FileType.File

    def stored_rows(self, partition: str) -> int:
        """From the footer alone (two range requests, not the whole file): only the partition's own writer,
        which its pool keeps alone, asks this of a file it is about to replace."""
        if not self.has_partition(partition):
            return 0
        with self.fs.open_input_file(f"{partition}/{PART}") as stored:
            return pq.ParquetFile(stored).metadata.num_rows

    def staging(self, partition: str) -> list[str]:
        """The partition's staging objects (a write in progress, or a killed writer's leftover)."""
        return [i.path for i in self._listing(partition) if i.base_name.startswith(TMP_PREFIX)]

    def sweep_stale(self, partition: str) -> list[str]:
        removed = []
        now = time.time()
        for info in self._listing(partition):
            old = info.mtime is not None and now - info.mtime.timestamp() > STALE_AFTER_SECONDS
            if info.base_name.startswith(TMP_PREFIX) and old:
                self.fs.delete_file(info.path)
                removed.append(info.path)
        return removed

    def _to_trash(self, partition: str) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target = f"{self.base}/{TRASH}/{stamp}-{uuid.uuid4().hex[:8]}/{partition[len(self.base) + 1 :]}/{PART}"
        self.fs.copy_file(f"{partition}/{PART}", target)
        return target

    def write(
        self,
        partition: str,
        schema: pa.Schema,
        batches: Iterable[pa.RecordBatch],
        guard: VolumeGuard | None = None,
        modes: Modes = PRIVATE,  # unused: object storage has no file modes; access is the bucket's policy
    ) -> WrittenPartition:
        self.sweep_stale(partition)
        staging = f"{partition}/{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        target = f"{partition}/{PART}"
        try:
            with (
                self.fs.open_output_stream(staging) as stream,
                pq.ParquetWriter(stream, schema, compression="zstd") as writer,
            ):
                rows = write_row_groups(writer, schema, batches)
            if guard is not None:
                stored = self.stored_rows(partition)
                if guard.drop(stored, rows):
                    if not guard.accepted:
                        raise guard.error(stored, rows)
                    self._to_trash(partition)
            self.fs.copy_file(staging, target)  # one CopyObject: up to S3's 5 GB per object
        except BaseException:
            # a failed write's stream still completed its (truncated) staging object: never leave it, and
            # never let the clean-up hide why the write failed (a leftover is swept later)
            with contextlib.suppress(Exception):
                self._delete_if_present(staging)
            raise
        with contextlib.suppress(OSError):  # the partition is replaced; a leftover staging object is swept later
            self._delete_if_present(staging)
        return WrittenPartition(self.display(target), rows, self._info(target).size or 0)

    def _delete_if_present(self, key: str) -> None:
        if self._info(key).type == pafs.FileType.File:
            self.fs.delete_file(key)

    def remove(self, partition: str, guard: VolumeGuard | None = None) -> bool:
        objects = self._listing(partition, recursive=True)
        if not objects:
            return False
        if guard is not None:
            stored = self.stored_rows(partition)
            if guard.drop(stored, -1):
                if not guard.accepted:
                    raise guard.error(stored, -1)
                self._to_trash(partition)
        for info in objects:
            self.fs.delete_file(info.path)
        return True

    def stored_companies(self) -> list[StoredCompany]:
        """Every (source, company) with objects under raw/, which is what dbt reads."""
        found: dict[tuple[str, str], set[str]] = {}
        raw = f"{self.base}/raw/"
        for info in self._listing(raw.rstrip("/"), recursive=True):
            parts = info.path[len(raw) :].split("/")
            if len(parts) >= 4 and parts[2].startswith("company="):
                folder = raw + "/".join(parts[:3])
                found.setdefault((parts[0], parts[2].removeprefix("company=")), set()).add(folder)
        return [StoredCompany(s, c, tuple(sorted(d))) for (s, c), d in sorted(found.items())]

    def rows(self, stored: StoredCompany) -> int:
        return sum(
            self.stored_rows(i.path.rsplit("/", 1)[0])
            for folder in stored.directories
            for i in self._listing(folder, recursive=True)
            if i.base_name == PART
        )

    def archive(self, stored: StoredCompany, stamp: str | None = None) -> str:
        """Copy the company's objects to `_archive/<time>-<company>/raw/...`, then delete them from raw/:
        a crash in between leaves them in both places, never in neither."""
        stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target_root = f"{self.base}/{ARCHIVE}/{stamp}-{stored.company}"
        objects = [i.path for folder in stored.directories for i in self._listing(folder, recursive=True)]
        for key in objects:
            self.fs.copy_file(key, f"{target_root}/{key[len(self.base) + 1 :]}")
        for key in objects:
            self.fs.delete_file(key)
        return self.display(target_root)
