"""One full pipeline run shared by the end-to-end tests (every ERP, the bank, the warehouse), and what they
compare it with."""

from collections import Counter

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


def last_build_full_parse_reasons(settings) -> list[str]:
    """Why the warehouse's latest dbt build could not parse partially (empty: it reused the last parse),
    from the JSON log dbt keeps in the warehouse's target directory (rotated at 10 MB, oldest first)."""
    import json

    from assets.transform import dbt_target_path

    directory = dbt_target_path(settings)
    lines = [
        line
        for path in sorted(directory.glob("dbt.log*"), key=lambda p: p.stat().st_mtime)
        for line in path.read_text().splitlines()
    ]
    events = [json.loads(line)["info"] for line in lines if line.startswith("{")]
    last = [e["invocation_id"] for e in events if e["code"] == "A001"][-1]  # MainReportVersion opens each run
    return [e["msg"] for e in events if e["invocation_id"] == last and e["code"] == "I024"]  # UnableToPartialParse


def book_totals(books) -> Counter:
    """(fiscal year, account) -> the simulator's net amount (debit +) over the books' valid vouchers."""
    out: Counter = Counter()
    for v in books.valid_vouchers:
        for line in v.lines:
            out[(int(books.fiscal_year_of(v.date).key), line.account)] += line.amount
    return out
