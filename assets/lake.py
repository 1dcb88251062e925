"""Hive-style Parquet partitions in the lake, each rewritten whole and atomically.

A partition is one file, `part-0.parquet`, streamed batch by batch into a hidden temporary file
in the same directory and renamed into place, so readers see the old file or the new one, never
half of one, and a killed run leaves at most a stale temporary file that the next write removes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART = "part-0.parquet"
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class WrittenPartition:
    path: Path
    rows: int
    bytes: int


def partition_dir(root: Path, source: str, endpoint: str, company: str, fiscal_year: str | None) -> Path:
    directory = root / "raw" / source / endpoint / f"company={company}"
    if fiscal_year is not None:
        directory = directory / f"fiscal_year={fiscal_year}"
    resolved = directory.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"partition path for company {company!r} escapes the lake root")
    return directory


def write_partition(directory: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> WrittenPartition:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(f"{TMP_PREFIX}*"):
        stale.unlink(missing_ok=True)
    tmp = directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for batch in batches:
                if batch.schema != schema:
                    batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
                writer.write_batch(batch)
                rows += batch.num_rows
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        target = directory / PART
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenPartition(target, rows, target.stat().st_size)


def remove_partition(directory: Path) -> bool:
    """Drop a partition the source no longer has (e.g. no fiscal year ends in that year)."""
    if directory.exists():
        shutil.rmtree(directory)
        return True
    return False
