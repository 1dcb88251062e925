"""The warehouse contract as the dbt manifest records it: every mart and mart column described and
typed, every mart's contract enforced, every data test saying what it proves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def marts(manifest) -> list[dict[str, Any]]:
    found = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    ]
    assert found, "no mart models in the manifest"
    return found


def test_every_mart_is_described(marts):
    missing = [m["name"] for m in marts if not m["description"].strip()]
    assert not missing, f"marts without description: {missing}"


def test_every_mart_column_is_described_and_typed(marts):
    problems = []
    for mart in marts:
        if not mart["columns"]:
            problems.append(f"{mart['name']}: no columns declared")
        for column in mart["columns"].values():
            if not (column.get("description") or "").strip():
                problems.append(f"{mart['name']}.{column['name']}: no description")
            if not column.get("data_type"):
                problems.append(f"{mart['name']}.{column['name']}: no data_type")
    assert not problems, "\n".join(problems)


def test_every_mart_enforces_its_contract(marts):
    loose = [m["name"] for m in marts if not m["config"].get("contract", {}).get("enforced")]
    assert not loose, f"marts without an enforced contract: {loose}"


def test_every_data_test_is_described(manifest):
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    assert tests, "no data tests in the manifest"
    missing = sorted(t["name"] for t in tests if not (t.get("description") or "").strip())
    assert not missing, f"data tests without description: {missing}"
