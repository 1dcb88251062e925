"""Shared fixtures (the simulator on loopback, demo credentials, a companies file pointing at it) and how
`make test` orders and spreads the tests over its workers."""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

import pytest
import yaml

from simulator.server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def pytest_configure(config):
    """Demo credentials as `make test` exports them, and a dbt manifest parsed from the current models
    (once, by the process that starts any pytest-xdist workers, before they start)."""
    for key, value in read_env_file(ROOT / "demo.env").items():
        os.environ.setdefault(key, value)
    if hasattr(config, "workerinput") or manifest_is_current():
        return
    from assets.transform import parse_manifest

    parse_manifest()


SESSION_PIPELINE = "the session pipeline's readers"  # the one scope all its files share


def pytest_collection_modifyitems(config, items):
    """The session pipeline's readers first, then the other end-to-end files: `make test` hands files to its
    workers in this order (`--no-loadscope-reorder`; xdist would start with the files of most tests, the
    quick ones), so no file that builds a pipeline of its own starts last and leaves the other workers idle."""
    readers = session_pipeline_files()
    items.sort(key=lambda item: (item.nodeid.split("::")[0] not in readers, item.get_closest_marker("e2e") is None))


@functools.cache
def session_pipeline_files() -> frozenset[str]:
    """The test files with a test or fixture that takes the session's `pipeline` (tests/e2e/conftest.py), as
    pytest names them."""

    def takes_it(f: ast.FunctionDef) -> bool:
        pytest_sees = f.name.startswith("test_") or any("fixture" in ast.unparse(d) for d in f.decorator_list)
        return pytest_sees and any(arg.arg == "pipeline" for arg in f.args.args)

    found = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        if any(isinstance(n, ast.FunctionDef) and takes_it(n) for n in ast.walk(ast.parse(path.read_text()))):
            found.add(path.relative_to(ROOT).as_posix())
    return frozenset(found)


@pytest.hookimpl(optionalhook=True)  # a run without pytest-xdist (make test-scale) has no such hook
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, except that every file reading the session pipeline goes to one worker: a session
    fixture is built once in each worker that uses it, and this one costs the most of any."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SessionPipelineScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return SESSION_PIPELINE if file in session_pipeline_files() else file

    return SessionPipelineScheduling(config, log)


def manifest_is_current() -> bool:
    """Whether dbt's manifest is newer than every file it is parsed from (what `make install` checks)."""
    from connectors.settings import DBT_PROJECT_DIR

    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        return False
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"] + [
        f for d in ("models", "macros", "seeds", "tests") for f in (DBT_PROJECT_DIR / d).rglob("*") if f.is_file()
    ]
    built = manifest.stat().st_mtime
    return all(f.stat().st_mtime < built for f in sources if f.exists())


@pytest.fixture(scope="session")
def simulator_url() -> str:
    with serve_in_thread() as url:
        yield url


@pytest.fixture
def fennoa_url(simulator_url) -> str:
    return f"{simulator_url}/fennoa/api"


def write_companies(path: Path, simulator_url: str, first_year: int = 2024, last_year: int = 2027) -> Path:
    """The demo companies.yaml with every base_url pointed at this test's simulator."""
    config = yaml.safe_load((ROOT / "companies.yaml").read_text())
    config["fiscal_years"] = {"first": first_year, "last": last_year}
    for company in config["companies"]:
        company["base_url"] = company["base_url"].replace("http://127.0.0.1:8765", simulator_url)
        for connection in company.get("bank_connections", []):
            connection["base_url"] = connection["base_url"].replace("http://127.0.0.1:8765", simulator_url)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def project_env(tmp_path, simulator_url, monkeypatch) -> dict[str, str]:
    """Environment for a pipeline run isolated in tmp_path."""
    env = {
        "NORDLEDGER_COMPANIES_FILE": str(write_companies(tmp_path / "companies.yaml", simulator_url)),
        "NORDLEDGER_DATA_DIR": str(tmp_path / "data"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
