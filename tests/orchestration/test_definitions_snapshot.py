"""A snapshot of what the code location holds: asset keys with their partitions and pools, checks,
jobs with their executors, schedules and sensors. A change to any of them shows up here as a reviewable diff.

After an intended change: `NORDLEDGER_UPDATE_SNAPSHOTS=1 make test-fast`, then review the JSON diff.
"""

import json
import os
from pathlib import Path

import dagster as dg

from connectors.settings import load_settings
from orchestration.definitions import build_definitions
from tests.conftest import ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(definition: dg.PartitionsDefinition | None) -> str | None:
    if definition is None:
        return None
    if isinstance(definition, dg.MultiPartitionsDefinition):
        return " x ".join(f"{d.name}[{len(d.partitions_def.get_partition_keys())}]" for d in definition.partitions_defs)
    return f"[{len(definition.get_partition_keys())}]"


def describe(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": _partitions(node.partitions_def),
            "pools": sorted(node.pools or []),
        }
    return {
        "assets": assets,
        "checks": sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys),
        "jobs": {
            j.name: j.executor_def.name
            for j in sorted(defs.resolve_all_job_defs(), key=lambda j: j.name)
            if not j.name.startswith("__")
        },
        "schedules": {s.name: s.cron_schedule for s in sorted(defs.schedules or [], key=lambda s: s.name)},
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_definitions_match_the_snapshot(tmp_path):
    # the demo companies.yaml with its fiscal-year keys pinned, so the snapshot does not move with the calendar
    import yaml

    config = yaml.safe_load((ROOT / "companies.yaml").read_text())
    config["fiscal_years"] = {"first": 2024, "last": 2027}
    (tmp_path / "companies.yaml").write_text(yaml.safe_dump(config))
    settings = load_settings(
        {"NORDLEDGER_COMPANIES_FILE": str(tmp_path / "companies.yaml"), "NORDLEDGER_DATA_DIR": str(tmp_path)}
    )
    actual = describe(build_definitions(settings))
    if os.environ.get("NORDLEDGER_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert actual["assets"] and actual["checks"] and actual["jobs"]
    for part in ("assets", "checks", "jobs", "schedules", "sensors"):
        assert actual[part] == expected[part], f"{part} differ from {SNAPSHOT.name}; see the module docstring"
