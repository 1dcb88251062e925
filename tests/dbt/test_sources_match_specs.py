"""Each raw source's columns in its dbt sources yml are exactly the connector spec's Arrow schema."""

import json

import pyarrow as pa
import pytest

from connectors import registry
from tests.conftest import ROOT

MANIFEST = ROOT / "dbt_project" / "target" / "manifest.json"


def duckdb_type(arrow: pa.DataType) -> str:
    """The DuckDB type dbt declares for an Arrow type of the lake."""
    if pa.types.is_string(arrow):
        return "varchar"
    if pa.types.is_int32(arrow):
        return "integer"
    if pa.types.is_int64(arrow):
        return "bigint"
    if pa.types.is_boolean(arrow):
        return "boolean"
    if pa.types.is_date32(arrow):
        return "date"
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_list(arrow) and pa.types.is_struct(arrow.value_type):
        fields = ", ".join(f"{f.name} {duckdb_type(f.type)}" for f in arrow.value_type)
        return f"struct({fields})[]"
    raise AssertionError(f"no DuckDB type for {arrow}")


def lake_datasets() -> list[tuple[str, str, pa.Schema]]:
    datasets = [(erp, e.name, e.schema) for erp in registry.erp_names() for e in registry.erp(erp).endpoints]
    for name in registry.aggregator_names():
        spec = registry.aggregator(name)
        datasets += [(spec.source, endpoint, schema) for endpoint, schema in spec.schemas.items()]
    return datasets


@pytest.fixture(scope="module")
def sources() -> dict[tuple[str, str], dict]:
    manifest = json.loads(MANIFEST.read_text())
    return {(s["source_name"], s["name"]): s for s in manifest["sources"].values()}


def test_every_dataset_is_a_dbt_source_with_the_specs_columns_and_types(sources):
    datasets = lake_datasets()
    assert len(datasets) >= 20
    for source, endpoint, schema in datasets:
        declared = sources.get((source, endpoint))
        assert declared is not None, f"{source}.{endpoint} is extracted but not declared in the sources yml"
        got = {
            name: (column.get("data_type") or "").replace(" ", "").lower()
            for name, column in declared["columns"].items()
        }
        want = {field.name: duckdb_type(field.type).replace(" ", "") for field in schema}
        assert got == want, f"{source}.{endpoint}: sources yml {got} != spec {want}"
        assert declared["meta"]["dagster"]["asset_key"] == ["raw", source, endpoint]


def test_the_dbt_erps_var_lists_the_registered_erps():
    import yaml

    project = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())
    assert sorted(project["vars"]["erps"]) == registry.erp_names()


def test_the_type_mapping_is_exact():
    assert duckdb_type(pa.decimal128(18, 2)) == "decimal(18,2)"
    assert duckdb_type(pa.list_(pa.struct([("a", pa.string())]))) == "struct(a varchar)[]"
    with pytest.raises(AssertionError):
        duckdb_type(pa.float64())
