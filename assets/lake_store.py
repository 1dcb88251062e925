"""Where the lake lives: a local folder (the default) or an S3 prefix, behind the one interface the
extract assets, the sync planner and `nordledger remove` use. Partitions are named by strings: a path
or a bucket key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from assets.lake import PRIVATE, FolderLake, Modes, StoredCompany, VolumeGuard, WrittenPartition
from assets.object_lake import ObjectLake, S3Location
from connectors.settings import Settings


class LakeStore(Protocol):
    url: str  # what dbt reads as the lake root: a path or s3://bucket/prefix

    def partition(self, source: str, endpoint: str, company: str, fiscal_year: str | None) -> str: ...
    def display(self, partition: str) -> str: ...
    def has_partition(self, partition: str) -> bool: ...
    def open_stored(self, partition: str) -> pq.ParquetFile | None: ...
    def stored_rows(self, partition: str) -> int: ...
    def staging(self, partition: str) -> list[str]: ...
    def write(
        self,
        partition: str,
        schema: pa.Schema,
        batches: Iterable[pa.RecordBatch],
        guard: VolumeGuard | None = None,
        modes: Modes = PRIVATE,
    ) -> WrittenPartition: ...
    def remove(self, partition: str, guard: VolumeGuard | None = None) -> bool: ...
    def stored_companies(self) -> list[StoredCompany]: ...
    def rows(self, stored: StoredCompany) -> int: ...
    def archive(self, stored: StoredCompany, stamp: str | None = None) -> str: ...


def lake_store(settings: Settings) -> LakeStore:
    """The lake the settings name."""
    return open_lake(settings.lake_location, settings.s3_endpoint, settings.s3_region)


def open_lake(root: str | Path, s3_endpoint: str | None = None, s3_region: str | None = None) -> LakeStore:
    """The lake at `root`: `s3://bucket/prefix` on object storage, anything else a local folder."""
    if isinstance(root, str) and root.startswith("s3://"):
        return ObjectLake(S3Location(root, s3_endpoint, s3_region))
    return FolderLake(Path(root))
