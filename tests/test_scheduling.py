"""How `make test` hands files to its workers (tests/conftest.py): every reader of the session pipeline goes to
one worker, each other file is a unit of its own. Driven through pytest-xdist's own scheduling (collection,
schedule, completion) with stand-in workers, so an xdist upgrade that stops grouping by the override fails
here instead of only making every worker build the session pipeline again."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import pytest_xdist_make_scheduler, session_pipeline_files


class Options:
    """What the scheduler reads of pytest's config under `-n 3 --dist <dist> --no-loadscope-reorder`."""

    def __init__(self, dist: str = "loadfile") -> None:
        self.dist = dist
        self.option = SimpleNamespace(loadscopereorder=False)

    def getvalue(self, name: str):
        return {"dist": self.dist, "tx": ["3*popen"]}[name]


class Worker:
    """A stand-in for xdist's WorkerController: records the tests it is sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def run_schedule(collection: list[str]) -> dict[str, set[str]]:
    """Schedule `collection` on three workers that finish every test they get; the files each one ran."""
    scheduler = pytest_xdist_make_scheduler(Options(), None)
    workers = [Worker(f"gw{n}") for n in range(3)]
    for worker in workers:
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, collection)
    scheduler.schedule()
    done = dict.fromkeys(workers, 0)
    while not scheduler.tests_finished:
        worker = next(w for w in workers if len(w.sent) > done[w])
        scheduler.mark_test_complete(worker, worker.sent[done[worker]])
        done[worker] += 1
    return {w.gateway.id: {collection[i].split("::")[0] for i in w.sent} for w in workers}


def test_the_session_pipelines_readers_run_on_one_worker_and_the_other_files_spread():
    readers = sorted(session_pipeline_files())
    assert "tests/e2e/test_pipeline.py" in readers and "tests/e2e/test_reliability.py" not in readers
    others = ["tests/e2e/test_reliability.py", "tests/connectors/test_netvisor.py", "tests/test_layers.py"]
    collection = [f"{file}::test_{n}[a::b]" for file in [*readers, *others] for n in range(2)]

    ran = run_schedule(collection)

    holding = [name for name, files in ran.items() if files & set(readers)]
    assert len(holding) == 1 and set(readers) <= ran[holding[0]]
    assert sum(len(files) for files in ran.values()) == len(readers) + len(others)  # each file on one worker
    assert sum(1 for files in ran.values() if files) >= 2  # the other files did not queue behind the readers


def test_other_distributions_keep_xdists_own_scheduler():
    assert pytest_xdist_make_scheduler(Options("load"), None) is None
