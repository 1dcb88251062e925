"""One full pipeline run shared by the end-to-end tests: every ERP, the bank, the warehouse."""

import dagster as dg
import httpx
import pytest

from tests.conftest import write_companies


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, simulator_url):
    from connectors.settings import load_settings
    from orchestration.definitions import build_pipeline
    from orchestration.demo import authorize_simulated_banks
    from orchestration.runner import materialize_all

    tmp = tmp_path_factory.mktemp("pipeline")
    mp = pytest.MonkeyPatch()
    mp.setenv("NORDLEDGER_COMPANIES_FILE", str(write_companies(tmp / "companies.yaml", simulator_url)))
    mp.setenv("NORDLEDGER_DATA_DIR", str(tmp / "data"))
    httpx.post(f"{simulator_url}/_sim/clock", json={"reset": True})  # the bank's day: the books' last day
    settings = load_settings()
    built = build_pipeline(settings)
    authorize_simulated_banks(settings, log=lambda *_: None)
    with dg.instance_for_test() as instance:
        results = materialize_all(built, instance, log=lambda *_: None)
        yield {
            "settings": settings,
            "defs": built.defs,
            "pipeline": built,
            "instance": instance,
            "results": results,
            "runs": instance.get_runs_count(),
            "simulator_url": simulator_url,
        }
    mp.undo()
