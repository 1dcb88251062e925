"""The columnar parsers accept what the per-value parsers accept, exactly, and refuse the rest."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.parsing import date_column, decimal_column, iso_date, money, percent

MONEY = pa.decimal128(18, 2)


def test_amounts_with_a_comma_or_a_point_are_exact_decimals():
    column = decimal_column(pa.array(["1234,56", " -0,10 ", "0.20", "7", "9999999999999999,99"]), MONEY)
    assert column.type == MONEY
    assert column.to_pylist() == [money(v, "x") for v in ["1234,56", " -0,10 ", "0.20", "7", "9999999999999999,99"]]
    assert sum(column.to_pylist()[1:3]) == Decimal("0.10")  # no float on the way


def test_absent_and_blank_amounts_are_null_for_the_caller_to_judge():
    assert decimal_column(pa.array([None, "", "  "], pa.string()), MONEY).to_pylist() == [None, None, None]


@pytest.mark.parametrize("bad", ["1,234", "12O", "1.2.3", "NaN", "99999999999999999,99"])
def test_an_amount_the_per_value_parser_refuses_fails_the_column(bad):
    with pytest.raises(ValueError):
        money(bad, "LineSum")
    with pytest.raises(pa.ArrowInvalid):
        decimal_column(pa.array(["1,00", bad]), MONEY)


def test_finnish_dates_convert_in_one_pass_and_other_forms_as_iso_date_reads_them():
    finnish = ["3.2.2025", "03.02.2025", " 31.12.2024 ", "29.2.2024"]
    assert date_column(pa.array(finnish), "d").to_pylist() == [iso_date(v, "d") for v in finnish]
    mixed = ["3.2.2025", "2025-02-04", "2025-02-05T10:00:00+02:00"]
    assert date_column(pa.array(mixed), "d").to_pylist() == [date(2025, 2, 3), date(2025, 2, 4), date(2025, 2, 5)]


@pytest.mark.parametrize(("bad", "error"), [("30.2.2024", pa.ArrowInvalid), ("3.2.25", ValueError), (None, ValueError)])
def test_a_date_that_is_no_date_fails_the_column(bad, error):
    with pytest.raises(ValueError):
        iso_date(bad, "d")
    with pytest.raises(error):
        date_column(pa.array(["3.2.2025", bad], pa.string()), "d")


def test_a_percentage_fits_decimal_5_2():
    assert percent("25,5", "VatPercent") == Decimal("25.50")
    with pytest.raises(ValueError, match=r"VatPercent: '1000' does not fit DECIMAL\(5,2\)"):
        percent("1000", "VatPercent")
