-- The general ledger: one row per voucher line, opening-balance vouchers flagged.
select
    company_id,
    source_system,
    voucher_id,
    voucher_number,
    voucher_type,
    line_number,
    line_key,
    entry_date,
    fiscal_year,
    cast(date_trunc('month', entry_date) as date) as period_month,
    account_number,
    description,
    {{ money('debit') }} as debit,
    {{ money('credit') }} as credit,
    {{ money('debit - credit') }} as amount,
    vat_code,
    dimensions,
    is_opening_balance
from {{ ref('int_gl__lines_unioned') }}
