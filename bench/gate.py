"""The correctness gate of a contender's output: rows per fiscal year, total debit and credit, and
an order-independent hash of (statement, account, debit, credit), all read back with DuckDB.

Only a contender whose figures equal ours has its time reported (docs/peers.md 4.3).
"""

from __future__ import annotations

import duckdb

# Column names per writer: ours keeps the ERP's meaning in our names, dlt keeps the API's.
COLUMNS = {
    "ours": {"statement": "statement_id", "account": "account_number", "date": "entry_date"},
    "dlt": {"statement": "statement_id", "account": "account", "date": "date"},
}


def gate_figures(files: list[str], style: str = "ours") -> dict:
    if not files:
        return {"rows": 0, "rows_per_year": {}, "debit": "0", "credit": "0", "hash": 0}
    c = COLUMNS[style]
    con = duckdb.connect()
    try:
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        con.execute(f"""create temp table ledger as select
            cast({c["statement"]} as varchar) as statement, cast({c["account"]} as varchar) as account,
            left(cast({c["date"]} as varchar), 4) as year,
            cast(coalesce(debit, 0) as decimal(18, 2)) as debit, cast(coalesce(credit, 0) as decimal(18, 2)) as credit
            from read_parquet({listing}, union_by_name = true)""")
        rows, debit, credit, digest = con.execute(
            "select count(*), sum(debit), sum(credit), sum(hash(statement, account, debit, credit) % 1000000007) "
            "from ledger"
        ).fetchone()
        per_year = dict(con.execute("select year, count(*) from ledger group by 1 order by 1").fetchall())
    finally:
        con.close()
    return {"rows": rows, "rows_per_year": per_year, "debit": str(debit), "credit": str(credit), "hash": int(digest)}


def same(a: dict, b: dict) -> bool:
    keys = ("rows", "rows_per_year", "debit", "credit", "hash")
    return all(a.get(k) == b.get(k) for k in keys)
