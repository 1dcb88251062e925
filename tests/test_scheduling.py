"""How `make test` hands files to its workers (tests/conftest.py): every reader of the session pipeline goes to
one worker, each other file is a scope of its own. Fails if a pytest-xdist upgrade stops calling the override
the way this relies on (then every worker would build the session pipeline again, and only be slower)."""

from __future__ import annotations

from tests.conftest import SESSION_PIPELINE, pytest_xdist_make_scheduler, session_pipeline_files


class LoadfileOptions:
    """What the scheduler reads of pytest's config under `-n 3 --dist loadfile`."""

    def getvalue(self, name: str):
        return {"dist": "loadfile", "tx": ["3*popen"]}[name]


def test_the_session_pipelines_readers_share_one_scope_and_every_other_file_keeps_its_own():
    readers = session_pipeline_files()
    assert "tests/e2e/test_pipeline.py" in readers and "tests/e2e/test_reliability.py" not in readers

    scheduler = pytest_xdist_make_scheduler(LoadfileOptions(), None)

    assert scheduler.numnodes == 3
    scopes = {scheduler._split_scope(f"{file}::test_x[case]") for file in readers}
    assert scopes == {SESSION_PIPELINE}
    assert scheduler._split_scope("tests/e2e/test_reliability.py::test_x") == "tests/e2e/test_reliability.py"
    assert scheduler._split_scope("tests/connectors/test_netvisor.py::test_y[a::b]") == (
        "tests/connectors/test_netvisor.py"
    )


def test_other_distributions_keep_xdists_own_scheduler():
    class Each(LoadfileOptions):
        def getvalue(self, name: str):
            return "load" if name == "dist" else super().getvalue(name)

    assert pytest_xdist_make_scheduler(Each(), None) is None
