"""Arrow types and schemas shared by every connector: money, fiscal years, dimensions, balances.

An ERP's own endpoint schemas are built from these, so a change of meaning (e.g. money's precision)
is made once and reaches every lake dataset and, through the sources yml test, dbt.
"""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(18, 2)
VAT_PERCENT = pa.decimal128(5, 2)

COMPANY_ID = pa.field("company_id", pa.string())
FISCAL_YEAR_KEYS = [COMPANY_ID, pa.field("fiscal_year", pa.int32()), pa.field("period_id", pa.string())]


def schema(*fields: pa.Field | tuple[str, pa.DataType] | list[pa.Field]) -> pa.Schema:
    """A schema from fields, (name, type) pairs and lists of fields, in order."""
    flat: list[pa.Field] = []
    for item in fields:
        if isinstance(item, list):
            flat.extend(item)
        elif isinstance(item, tuple):
            flat.append(pa.field(*item))
        else:
            flat.append(item)
    return pa.schema(flat)


def periods(*extra: tuple[str, pa.DataType]) -> pa.Schema:
    """Fiscal years: the ERP's id, real dates, key (the year the fiscal year ends in), lock state.

    `extra` columns follow the id (e.g. a fiscal year's name where the ERP has one).
    """
    return schema(
        COMPANY_ID,
        ("period_id", pa.string()),
        *extra,
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("fiscal_year", pa.int32()),
        ("is_locked", pa.bool_()),
    )


DIMENSIONS = schema(
    COMPANY_ID,
    ("dimension_type_id", pa.string()),
    ("dimension_type_name", pa.string()),
    ("item_id", pa.string()),
    ("item_code", pa.string()),
    ("item_name", pa.string()),
    ("is_active", pa.bool_()),
)

# Balances an ERP reports at a fiscal year's end, for reconciliation: as debit and credit totals ...
ACCOUNT_BALANCES_DEBIT_CREDIT = schema(
    FISCAL_YEAR_KEYS,
    ("account_number", pa.string()),
    ("balance_date", pa.date32()),
    ("debit", MONEY),
    ("credit", MONEY),
)
# ... or as one signed balance (debit positive).
ACCOUNT_BALANCES_NET = schema(
    FISCAL_YEAR_KEYS,
    ("account_number", pa.string()),
    ("balance_date", pa.date32()),
    ("balance", MONEY),
)


def dimension_list(*names: str) -> pa.DataType:
    """A ledger line's dimensions: a list of structs of text fields, named as the ERP names them."""
    return pa.list_(pa.struct([(n, pa.string()) for n in names]))
