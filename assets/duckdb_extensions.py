"""DuckDB's httpfs and postgres extensions, loaded from the scale extra's wheels, never downloaded.

`INSTALL httpfs` fetches from extensions.duckdb.org, which a deployment may not reach; PyPI's
`duckdb-extension-*` wheels carry DuckDB's own signed binaries for exactly one DuckDB version.
They are loaded by path with unsigned extensions still refused, so a binary that is not DuckDB's fails.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import duckdb

# extension name -> the module of the wheel that ships it
WHEELS = {"httpfs": "duckdb_extension_httpfs", "postgres_scanner": "duckdb_extension_postgres_scanner"}


class ExtensionMissingError(RuntimeError):
    """The extension's wheel is not installed, or not for this DuckDB version."""


def extension_path(name: str) -> Path:
    """The extension file for the running DuckDB, from its wheel."""
    module_name = WHEELS[name]
    hint = f"install the scale extra (pip install -r requirements/scale.txt), which pins duckdb=={duckdb.__version__}"
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ExtensionMissingError(f"DuckDB extension {name!r} needs the package {module_name}: {hint}") from None
    path = Path(module.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise ExtensionMissingError(
            f"{module_name} has no {name} extension for DuckDB {duckdb.__version__} (looked for {path}): {hint}"
        )
    return path


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load the extension into `con` from its wheel (DuckDB checks its signature)."""
    con.load_extension(str(extension_path(name)))
