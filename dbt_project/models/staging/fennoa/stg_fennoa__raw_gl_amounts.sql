-- Debit and credit of every posted line, straight from the raw Parquet and independent of
-- stg_fennoa__gl_lines, so assert_gl_matches_raw_lake can compare the two.
select company_id, fiscal_year, debit, credit
from {{ lake_scan('fennoa', 'ledger') }}
union all
select company_id, fiscal_year, debit, credit
from {{ lake_scan('fennoa', 'opening_balances') }}
where debit <> 0 or credit <> 0
