"""The companies as companies.yaml configures them, as Parquet tables the dbt models read (`dim_company`,
`int_company_settings`, `int_bank_gl_accounts`), written beside the build file before each build.

dbt's command line then carries only paths: Linux caps one argument at 128 KiB, which the companies
passed as `--vars` reached at about 800, and a changed company no longer makes dbt parse the whole project.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from assets.lake import PRIVATE, ensure_dir
from connectors.companies import CompaniesConfig
from connectors.settings import Settings

# Table name -> its columns, all text (ids, names and account numbers are text; nothing here is money).
TABLES: dict[str, tuple[str, ...]] = {
    "companies": ("company_id", "source_system", "company_name", "business_id", "report_schema", "chart_template"),
    "bank_connections": ("company_id", "connection_id", "gl_cash_account"),
    "bank_account_gl_map": ("company_id", "connection_id", "account_id", "gl_account"),
}


def company_tables_dir(settings: Settings) -> Path:
    """Where the warehouse's build reads the companies' tables from."""
    return settings.warehouse_dir / "config"


def company_rows(config: CompaniesConfig) -> list[dict[str, Any]]:
    """Each company's settings the warehouse uses, bank connections nested (pure; what the tables hold)."""
    return [
        {
            "id": c.id,
            "name": c.name,
            "business_id": c.business_id,
            "erp": c.erp,
            "report_schema": c.report_schema,
            "chart_template": c.chart_template,
            "bank_connections": [
                {"id": b.id, "gl_cash_account": b.gl_cash_account, "account_gl_map": dict(b.account_gl_map)}
                for b in c.bank_connections
            ],
        }
        for c in config.companies
    ]


def company_tables(companies: Sequence[Mapping[str, Any]]) -> dict[str, pa.Table]:
    """`company_rows` flattened into the three tables (empty tables keep their columns)."""
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    for c in companies:
        rows["companies"].append(
            (c["id"], c["erp"], c["name"], c.get("business_id"), c.get("report_schema", "KPA"),
             c.get("chart_template", "default"))
        )  # fmt: skip
        for b in c.get("bank_connections", []):
            rows["bank_connections"].append((c["id"], b["id"], b["gl_cash_account"]))
            for account, gl_account in b.get("account_gl_map", {}).items():
                rows["bank_account_gl_map"].append((c["id"], b["id"], account, gl_account))
    return {
        name: pa.table({col: pa.array([row[i] for row in rows[name]], pa.string()) for i, col in enumerate(columns)})
        for name, columns in TABLES.items()
    }


def write_company_tables(companies: Sequence[Mapping[str, Any]], directory: Path) -> Path:
    """Replace each table's file in `directory` (owner-only; each one renamed into place whole), and
    return the directory, which the build's `config_dir` var names."""
    ensure_dir(directory)
    for name, table in company_tables(companies).items():
        final = directory / f"{name}.parquet"
        temporary = directory / f".tmp-{name}-{uuid.uuid4().hex}.parquet"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE.file)
        try:
            with os.fdopen(fd, "wb") as fh:
                pq.write_table(table, fh)
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
    return directory
