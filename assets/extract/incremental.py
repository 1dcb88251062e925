"""Incremental refresh of a stored fiscal-year partition: ask the ERP what changed since the newest
version already stored, keep the stored rows of everything else, and rewrite the partition whole.

Used only when a run asks for it (tag `nordledger/refresh=incremental`, set by the nightly schedule
and "sync now"); every other run, and any partition this cannot trust, is read in full.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.fiscal import FiscalPeriod
from connectors.spec import Incremental

REFRESH_TAG = "nordledger/refresh"
INCREMENTAL = "incremental"
STORED_BATCH_ROWS = 64_000


@dataclass(frozen=True)
class Plan:
    since: str | None  # None: read the fiscal year in full
    reason: str


def plan(
    stored: pq.ParquetFile | None, schema: pa.Schema, incremental: Incremental, periods: list[FiscalPeriod]
) -> Plan:
    """Whether the stored partition (None: there is none) can be brought up to date from its changes, and since when."""
    if stored is None:
        return Plan(None, "nothing stored yet")
    if not stored.schema_arrow.equals(schema):
        return Plan(None, "stored partition has an older layout")
    table = stored.read(columns=[incremental.cursor, incremental.period])
    if not set(pc.unique(table.column(incremental.period)).drop_null().to_pylist()) <= {p.id for p in periods}:
        return Plan(None, "the ERP's fiscal-year ids changed since the last sync")
    versions = pc.unique(table.column(incremental.cursor)).drop_null().to_pylist()
    try:
        newest = max((datetime.fromisoformat(v) for v in versions), default=None)
    except (TypeError, ValueError):
        return Plan(None, f"stored {incremental.cursor} values are not comparable timestamps")
    if newest is None:
        return Plan(None, f"no {incremental.cursor} stored")
    return Plan((newest - incremental.overlap).isoformat(timespec="seconds"), "changes since the newest stored version")


def merged(
    stored: pq.ParquetFile, key: str, stale: set[str], fresh: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """The stored rows whose `key` did not change, batch by batch, then the changed records' new rows."""
    drop = pa.array(sorted(stale), type=pa.string())

    def kept() -> Iterator[pa.RecordBatch]:
        for batch in stored.iter_batches(batch_size=STORED_BATCH_ROWS):
            yield batch.filter(pc.invert(pc.is_in(batch.column(key), value_set=drop))) if len(drop) else batch

    return itertools.chain(kept(), fresh)
