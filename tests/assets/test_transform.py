"""How a failed dbt build is reported when no accounting check explains it."""

from pathlib import Path

from assets.transform import build_failure


def test_a_lock_conflict_says_who_holds_the_file_and_what_to_do():
    failure = build_failure(
        'IO Error: Could not set lock on file "/d/build.duckdb": Conflicting lock is held in python3 (PID 7)',
        Path("/d/build.duckdb"),
    )
    assert "locked by another process" in failure.description and "Accounting checks" not in failure.description
    assert failure.metadata["cause"].value == "lock_conflict"


def test_a_sql_error_is_a_dbt_error_with_its_message():
    failure = build_failure('Parser Error: syntax error at or near "Brien"', Path("/d/build.duckdb"))
    assert failure.description.startswith("dbt build failed (not an accounting check")
    assert 'syntax error at or near "Brien"' in failure.description
    assert failure.metadata["cause"].value == "dbt_error"
