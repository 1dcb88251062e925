"""The lake writer: atomic partitions, the volume guard and its trash, and which temporary files a write sweeps."""

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.lake import (
    PART,
    TRASH,
    VolumeDropError,
    VolumeGuard,
    accepted_keys,
    is_accepted,
    partition_dir,
    remove_partition,
    stored_rows,
    sweep_stale,
    write_partition,
)

SCHEMA = pa.schema([("n", pa.int64())])


def batches(count: int) -> list[pa.RecordBatch]:
    return [pa.RecordBatch.from_pylist([{"n": i} for i in range(count)], schema=SCHEMA)]


def guard(root, accepted=False) -> VolumeGuard:
    return VolumeGuard(root, "fennoa", "ledger", "aurora", "2025", accepted=accepted)


@pytest.fixture
def stored(tmp_path):
    directory = partition_dir(tmp_path, "fennoa", "ledger", "aurora", "2025")
    write_partition(directory, SCHEMA, batches(100))
    return tmp_path, directory


def test_a_drastically_smaller_answer_keeps_the_stored_partition_and_says_how_to_accept(stored):
    root, directory = stored
    before = (directory / PART).read_bytes()
    with pytest.raises(VolumeDropError) as caught:
        write_partition(directory, SCHEMA, batches(40), guard(root))
    message = str(caught.value)
    assert "company 'aurora' fiscal year 2025, endpoint 'ledger'" in message
    assert "100 rows are stored but the ERP answered 40 rows" in message
    assert "nordledger/accept_volume_change=aurora|2025" in message
    assert (directory / PART).read_bytes() == before
    assert os.listdir(directory) == [PART]  # no temporary file left behind


def test_an_empty_answer_is_refused_and_a_modest_shrink_is_not(stored):
    root, directory = stored
    with pytest.raises(VolumeDropError, match="answered 0 rows"):
        write_partition(directory, SCHEMA, [], guard(root))
    assert write_partition(directory, SCHEMA, batches(60), guard(root)).rows == 60
    assert stored_rows(directory) == 60


def test_an_accepted_drop_moves_the_previous_file_to_the_trash(stored):
    root, directory = stored
    written = write_partition(directory, SCHEMA, batches(3), guard(root, accepted=True))
    assert written.rows == 3
    [trashed] = list((root / TRASH).rglob(PART))
    assert pq.read_table(trashed).num_rows == 100
    assert trashed.relative_to(root / TRASH).parts[1:] == (*directory.relative_to(root).parts, PART)


def test_a_fiscal_year_that_disappears_is_removed_only_when_accepted(stored):
    root, directory = stored
    with pytest.raises(VolumeDropError, match="no longer has this fiscal year"):
        remove_partition(directory, guard(root))
    assert stored_rows(directory) == 100
    assert remove_partition(directory, guard(root, accepted=True))
    assert not directory.exists()
    assert pq.read_table(next((root / TRASH).rglob(PART))).num_rows == 100
    assert not remove_partition(directory, guard(root))  # nothing there any more


def test_the_accept_tag_names_companies_partitions_or_everything():
    keys = accepted_keys(" aurora|2025, borealis ")
    assert is_accepted(keys, "aurora", "2025") and not is_accepted(keys, "aurora", "2026")
    assert is_accepted(keys, "borealis", "2024") and is_accepted(keys, "borealis", None)
    assert not is_accepted(accepted_keys(None), "aurora", None)
    assert is_accepted(accepted_keys("*"), "cirrus", "2027")


def test_a_write_sweeps_dead_writers_temporary_files_but_never_a_live_ones(tmp_path):
    directory = tmp_path / "p"
    directory.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_file = directory / f".tmp-{dead.stdout.strip()}-abc"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live_file = directory / f".tmp-{live.pid}-def"
        own_file = directory / f".tmp-{os.getpid()}-ghi"
        legacy_file = directory / ".tmp-0123456789abcdef"
        for path in (dead_file, live_file, own_file, legacy_file):
            path.write_bytes(b"partial")
        write_partition(directory, SCHEMA, batches(1))
        assert not dead_file.exists() and not legacy_file.exists()
        assert live_file.exists() and own_file.exists()
        os.utime(live_file, (0, 0))  # very old: stale whoever wrote it
        assert live_file in sweep_stale(directory)
    finally:
        live.kill()


def test_partitions_are_owner_only_by_default_and_group_readable_on_request(tmp_path):
    from assets.lake import Modes

    private = write_partition(partition_dir(tmp_path, "fennoa", "ledger", "a", "2025"), SCHEMA, batches(1))
    assert private.path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "raw").stat().st_mode & 0o777 == 0o700
    assert private.path.parent.stat().st_mode & 0o777 == 0o700
    shared = partition_dir(tmp_path / "shared", "fennoa", "ledger", "a", "2025")
    written = write_partition(shared, SCHEMA, batches(1), modes=Modes.for_group_read(True))
    assert written.path.stat().st_mode & 0o777 == 0o640
    assert shared.stat().st_mode & 0o777 == 0o750


def test_small_answers_are_gathered_into_large_row_groups_in_their_order(tmp_path, monkeypatch):
    import assets.lake

    monkeypatch.setattr(assets.lake, "ROW_GROUP_ROWS", 1_000)
    small = [pa.RecordBatch.from_pylist([{"n": i * 150 + j} for j in range(150)], schema=SCHEMA) for i in range(13)]
    directory = partition_dir(tmp_path, "netvisor", "ledger", "dahlia", "2025")
    written = write_partition(directory, SCHEMA, small)
    meta = pq.ParquetFile(directory / PART).metadata
    assert written.rows == 1_950 and meta.num_rows == 1_950
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1_000, 950]
    assert pq.read_table(directory / PART)["n"].to_pylist() == list(range(1_950))

    big = [pa.RecordBatch.from_pylist([{"n": i} for i in range(2_500)], schema=SCHEMA)]
    write_partition(directory, SCHEMA, big)
    meta = pq.ParquetFile(directory / PART).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1_000, 1_000, 500]


def test_a_source_that_fails_after_row_groups_were_written_keeps_the_stored_partition(stored, monkeypatch):
    import assets.lake

    monkeypatch.setattr(assets.lake, "ROW_GROUP_ROWS", 100)
    _, directory = stored

    def failing():
        for i in range(5):  # two whole row groups reach the writer's thread before the source fails
            yield pa.RecordBatch.from_pylist([{"n": i * 50 + j} for j in range(50)], schema=SCHEMA)
        raise ValueError("window 2025-03 line 7: bad amount")

    with pytest.raises(ValueError, match="window 2025-03 line 7"):
        write_partition(directory, SCHEMA, failing())
    assert sorted(p.name for p in directory.iterdir()) == [PART]
    assert pq.read_table(directory / PART)["n"].to_pylist() == list(range(100))
