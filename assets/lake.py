"""Hive-style Parquet partitions in the lake, each rewritten whole and atomically, never lost.

A partition is one file, `part-0.parquet`, streamed batch by batch into a hidden temporary file
in the same directory and renamed into place, so readers see the old file or the new one, never
half of one. A killed writer leaves at most a stale temporary file, which a later write sweeps;
a live writer's temporary file is never touched.

The volume guard: a partition that holds rows is never removed, emptied or replaced by a drastically
smaller answer unless the run says so (tag `nordledger/accept_volume_change`); an accepted change
moves the previous file into `_trash/` under the lake root, where it stays recoverable.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

PART = "part-0.parquet"
TMP_PREFIX = ".tmp-"
TRASH = "_trash"
ACCEPT_TAG = "nordledger/accept_volume_change"
STALE_AFTER_SECONDS = 6 * 3600  # a temporary file this old is stale whoever wrote it (another host, pid reused)
DEFAULT_MAX_SHRINK = 0.5  # a rewrite with less than half the stored rows needs an explicit decision
SHARE_FROM_ROWS = 20


@dataclass(frozen=True)
class Modes:
    """Permissions of what the pipeline writes: owner-only by default, group-readable on request
    (for a BI service account in the group), never world-readable."""

    directory: int = 0o700
    file: int = 0o600

    @classmethod
    def for_group_read(cls, group_read: bool) -> Modes:
        return cls(0o750, 0o640) if group_read else cls()


PRIVATE = Modes()


def ensure_dir(path: Path, modes: Modes = PRIVATE) -> Path:
    """Create `path` and any missing parents with the directory mode (existing ones are left as they are)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        os.chmod(directory, modes.directory)
    return path


@dataclass(frozen=True)
class WrittenPartition:
    path: Path | str  # a file, or an object's s3:// URL
    rows: int
    bytes: int


class VolumeDropError(Exception):
    """A partition would lose most or all of its rows; nothing was changed."""

    def __init__(self, source: str, endpoint: str, company: str, fiscal_year: str | None, stored: int, new: int):
        self.source, self.endpoint, self.company, self.fiscal_year = source, endpoint, company, fiscal_year
        self.stored, self.new = stored, new
        where = f"company '{company}'" + (f" fiscal year {fiscal_year}" if fiscal_year else "")
        key = f"{company}|{fiscal_year}" if fiscal_year else company
        what = "no longer has this fiscal year" if new < 0 else f"answered {new} rows"
        super().__init__(
            f"{source} {where}, endpoint '{endpoint}': volume guard: {stored} rows are stored but the ERP {what}; "
            f"the stored partition is kept. If the change is real, run again with the tag "
            f"{ACCEPT_TAG}={key} (or =* for the whole run); the previous file then moves to {TRASH}/."
        )

    def __reduce__(self) -> tuple[type, tuple]:
        return type(self), (self.source, self.endpoint, self.company, self.fiscal_year, self.stored, self.new)


def drastic(stored: int, new: int, max_shrink: float = DEFAULT_MAX_SHRINK) -> bool:
    """Whether replacing `stored` rows with `new` (-1: they disappear) needs an explicit decision:
    always when rows would vanish; by share only from SHARE_FROM_ROWS rows (a chart losing 2 of 3
    accounts is an edit, a ledger losing 60 % of its lines is a source that answers less)."""
    if stored <= 0:
        return False
    return new <= 0 or (stored >= SHARE_FROM_ROWS and new < stored * (1 - max_shrink))


@dataclass(frozen=True)
class VolumeGuard:
    """The rule for one partition: how much it may shrink, and whether this run accepted more."""

    root: Path | str  # the lake root, under which the trash lives
    source: str
    endpoint: str
    company: str
    fiscal_year: str | None
    accepted: bool = False
    max_shrink: float = DEFAULT_MAX_SHRINK

    def drop(self, stored: int, new: int) -> bool:
        return drastic(stored, new, self.max_shrink)

    def error(self, stored: int, new: int) -> VolumeDropError:
        return VolumeDropError(self.source, self.endpoint, self.company, self.fiscal_year, stored, new)


def accepted_keys(tag_value: str | None) -> frozenset[str]:
    """The partitions a run's accept tag names: `*`, company ids and `company|fiscal_year` keys."""
    return frozenset(item.strip() for item in (tag_value or "").split(",") if item.strip())


def is_accepted(keys: frozenset[str], company: str, fiscal_year: str | None) -> bool:
    """Whether the run accepted a change of this partition; for a whole company (`fiscal_year` None,
    as the warehouse check asks), any accepted key of that company counts."""
    if "*" in keys or company in keys:
        return True
    if fiscal_year is None:
        return any(k.startswith(f"{company}|") for k in keys)
    return f"{company}|{fiscal_year}" in keys


def check_partition_names(source: str, endpoint: str, company: str, fiscal_year: str | None) -> None:
    """Each part of a partition's path is one plain name: no separator, no `..`, so it stays under the root."""
    for part in (source, endpoint, company, fiscal_year):
        if part is not None and (not part or "/" in part or "\\" in part or part in (".", "..")):
            raise ValueError(f"partition path part {part!r} (company {company!r}) would escape the lake root")


def partition_dir(root: Path, source: str, endpoint: str, company: str, fiscal_year: str | None) -> Path:
    check_partition_names(source, endpoint, company, fiscal_year)
    directory = root / "raw" / source / endpoint / f"company={company}"
    if fiscal_year is not None:
        directory = directory / f"fiscal_year={fiscal_year}"
    resolved = directory.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"partition path for company {company!r} escapes the lake root")
    return directory


def stored_rows(directory: Path) -> int:
    """Rows of the partition now in the lake (0 when there is none), from the Parquet footer."""
    part = directory / PART
    return pq.ParquetFile(part).metadata.num_rows if part.exists() else 0


def alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_stale(directory: Path, prefix: str = TMP_PREFIX) -> list[Path]:
    """Remove temporary files whose writer is gone (its pid no longer runs here) or that are very old."""
    removed = []
    now = time.time()
    for path in directory.glob(f"{prefix}*"):
        pid_text = path.name[len(prefix) :].split("-", 1)[0]
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue
        gone = not pid_text.isdigit() or not alive(int(pid_text))  # this process's own files are alive
        if gone or age > STALE_AFTER_SECONDS:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _to_trash(root: Path, directory: Path) -> Path:
    """Keep a copy of a partition's file in the lake's trash, under its own path. A hard link (a copy
    where links are not possible), so the partition itself is still replaced by one atomic rename and
    the old bytes survive whatever happens next."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = root / TRASH / f"{stamp}-{uuid.uuid4().hex[:8]}" / directory.relative_to(root) / PART
    ensure_dir(target.parent)
    try:
        os.link(directory / PART, target)
    except OSError:
        shutil.copy2(directory / PART, target)
        with open(target, "rb") as fh:
            os.fsync(fh.fileno())
    return target


# Rows per Parquet row group. One row group per API batch (Netvisor: ~13 of ~150 rows a file) made
# DuckDB's read of the lake cost about 4x the CPU; buffering to this many rows bounds the memory held.
ROW_GROUP_ROWS = 65_536


def buffered_row_groups(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.Table]:
    """The batches, in their order, as tables of ROW_GROUP_ROWS rows (the last one shorter)."""
    pending: list[pa.RecordBatch] = []  # an API answer's batch can be a few hundred rows
    buffered = 0
    for batch in batches:
        if batch.schema != schema:
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
        pending.append(batch)
        buffered += batch.num_rows
        while buffered >= ROW_GROUP_ROWS:
            table = pa.Table.from_batches(pending, schema)
            yield table.slice(0, ROW_GROUP_ROWS)
            pending = table.slice(ROW_GROUP_ROWS).to_batches()
            buffered -= ROW_GROUP_ROWS
    if pending:
        yield pa.Table.from_batches(pending, schema)


def write_row_groups(writer: pq.ParquetWriter, schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> int:
    """Write the batches as row groups of ROW_GROUP_ROWS; returns the rows written.

    Each group is encoded and compressed in a thread of its own while the next one is decoded from the
    source (pyarrow releases the GIL while it writes), with at most one group in flight, so memory
    stays at two groups. An error from the source waits for the group in flight and then propagates.
    """
    rows = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-write") as pool:
        pending: Future[None] | None = None
        for table in buffered_row_groups(schema, batches):
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, table, row_group_size=ROW_GROUP_ROWS)
            rows += table.num_rows
        if pending is not None:
            pending.result()
    return rows


def write_partition(
    directory: Path,
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    guard: VolumeGuard | None = None,
    modes: Modes = PRIVATE,
) -> WrittenPartition:
    """Write the partition whole; with a `guard`, refuse a drastic shrink unless the run accepted it."""
    ensure_dir(directory, modes)
    sweep_stale(directory)
    tmp = directory / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
    target = directory / PART
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            rows = write_row_groups(writer, schema, batches)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, modes.file)
        if guard is not None:
            stored = stored_rows(directory)
            if guard.drop(stored, rows):
                if not guard.accepted:
                    raise guard.error(stored, rows)
                _to_trash(Path(guard.root), directory)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return WrittenPartition(target, rows, target.stat().st_size)


def remove_partition(directory: Path, guard: VolumeGuard | None = None) -> bool:
    """Drop a partition the source no longer has (e.g. no fiscal year ends in that year).

    With a `guard`, a partition holding rows goes only when the run accepted it, and then to the trash.
    """
    if not directory.exists():
        return False
    if guard is not None:
        stored = stored_rows(directory)
        if guard.drop(stored, -1):
            if not guard.accepted:
                raise guard.error(stored, -1)
            _to_trash(Path(guard.root), directory)
    shutil.rmtree(directory)
    return True


ARCHIVE = "_archive"


@dataclass(frozen=True)
class StoredCompany:
    """One company's partitions of one source in the lake (every endpoint's `company=<id>` folder)."""

    source: str
    company: str
    directories: tuple[str, ...]


class FolderLake:
    """The lake in a local folder (the default): partitions are directories, named by their path."""

    def __init__(self, root: Path):
        self.root = root
        self.url = str(root)

    def partition(self, source: str, endpoint: str, company: str, fiscal_year: str | None) -> str:
        return str(partition_dir(self.root, source, endpoint, company, fiscal_year))

    def display(self, partition: str) -> str:
        return partition

    def has_partition(self, partition: str) -> bool:
        return (Path(partition) / PART).exists()

    def open_stored(self, partition: str) -> pq.ParquetFile | None:
        part = Path(partition) / PART
        return pq.ParquetFile(part) if part.exists() else None

    def stored_rows(self, partition: str) -> int:
        return stored_rows(Path(partition))

    def staging(self, partition: str) -> list[str]:
        return [str(p) for p in Path(partition).glob(f"{TMP_PREFIX}*")]

    def write(
        self,
        partition: str,
        schema: pa.Schema,
        batches: Iterable[pa.RecordBatch],
        guard: VolumeGuard | None = None,
        modes: Modes = PRIVATE,
    ) -> WrittenPartition:
        return write_partition(Path(partition), schema, batches, guard, modes)

    def remove(self, partition: str, guard: VolumeGuard | None = None) -> bool:
        return remove_partition(Path(partition), guard)

    def stored_companies(self) -> list[StoredCompany]:
        """Every (source, company) that has partitions under raw/, which is what dbt reads."""
        found: dict[tuple[str, str], list[str]] = {}
        for directory in sorted((self.root / "raw").glob("*/*/company=*")):
            if directory.is_dir():
                source, company = directory.parent.parent.name, directory.name.removeprefix("company=")
                found.setdefault((source, company), []).append(str(directory))
        return [StoredCompany(source, company, tuple(dirs)) for (source, company), dirs in sorted(found.items())]

    def rows(self, stored: StoredCompany) -> int:
        return sum(stored_rows(p.parent) for d in stored.directories for p in Path(d).rglob(PART))

    def archive(self, stored: StoredCompany, stamp: str | None = None) -> str:
        """Move a company's partitions of one source out of raw/ (out of dbt's glob) into
        `_archive/<time>-<company>/raw/...` under the lake root, keeping their paths; moving them back restores them."""
        stamp = stamp or datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        target_root = self.root / ARCHIVE / f"{stamp}-{stored.company}"
        for directory in map(Path, stored.directories):
            target = target_root / directory.relative_to(self.root)
            ensure_dir(target.parent)
            os.replace(directory, target)  # one rename per endpoint folder: same file system, nothing copied
        return str(target_root)
