-- Debit and credit of every transaction of an official receipt, straight from the raw Parquet and
-- independent of stg_procountor__gl_lines, so assert_gl_matches_raw_lake can compare the two.
select
    company_id,
    fiscal_year,
    greatest(amount, 0) as debit,
    greatest(-amount, 0) as credit
from {{ lake_scan('procountor', 'ledger') }}
where is_official and line_number is not null
