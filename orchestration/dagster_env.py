"""What every Dagster process of a deployment needs in its environment beyond `dagster.yaml`: the
webserver and daemon (which create the runs of launches, schedules and sensors), the code server, run
workers, and this project's in-process runs (the demo, `nordledger sync`, the bench, the tests)."""

from __future__ import annotations

import os

# One ASSET_MATERIALIZATION_PLANNED event per asset for a run over many partitions (a fiscal-year job over
# every company) instead of one per asset and partition: Dagster's own opt-in (dagster-io/dagster#29288,
# and #32242 for runs that timed out while starting). Per partition, a 200-company office spent a quarter
# of its extract processes' CPU creating runs (`python -m bench.run --parts office`: 201 s -> 159 s).
# The trade, as Dagster states it: when such a run fails, its partitions are not marked failed. A partition
# keeps the status of its last materialization (whose data the lake still holds: a failed read deletes
# nothing), one never materialized stays missing, and the run's failure names every company that failed.
DAGSTER_ENV = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}


def with_dagster_env(environ: dict[str, str]) -> dict[str, str]:
    """`environ` with each of DAGSTER_ENV's variables it does not set itself (an operator's own choice wins)."""
    return {**DAGSTER_ENV, **environ}


def apply_dagster_env() -> None:
    """Set DAGSTER_ENV's variables in this process wherever the environment leaves them unset."""
    for name, value in DAGSTER_ENV.items():
        os.environ.setdefault(name, value)
