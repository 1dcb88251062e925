-- Debit and credit of every posted line (valid voucher and valid line), straight from the raw
-- Parquet and independent of stg_netvisor__gl_lines, so assert_gl_matches_raw_lake can compare the two.
select
    company_id,
    fiscal_year,
    greatest(line_sum, 0) as debit,
    greatest(-line_sum, 0) as credit
from {{ lake_scan('netvisor', 'ledger') }}
where voucher_status = 'valid' and line_status = 'valid'
