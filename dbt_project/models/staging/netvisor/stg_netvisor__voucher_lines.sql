-- Every Netvisor voucher line with its voucher status and its own line status (an edited voucher
-- keeps its invalidated old lines). Only lines valid on both counts reach the general ledger.
select
    company_id,
    'netvisor' as source_system,
    fiscal_year,
    voucher_key as voucher_id,
    voucher_number,
    voucher_class as voucher_type,
    line_number,
    line_key,
    voucher_date as entry_date,
    account_number,
    coalesce(description, voucher_description) as description,
    {{ money('greatest(line_sum, 0)') }} as debit,
    {{ money('greatest(-line_sum, 0)') }} as credit,
    vat_code,
    -- Netvisor gives no split amounts here: each item holds the whole line (line_sum = debit - credit).
    list_transform(
        dimensions, d -> {'dimension_type': d.name, 'item_code': d.item, 'amount': {{ money('line_sum') }}}
    ) as dimensions,
    -- Netvisor books the opening balance as an ordinary voucher of the opening voucher type (TA).
    coalesce(voucher_class like 'TA %' or lower(voucher_class) like '%tilinavaus%', false) as is_opening_balance,
    voucher_status,
    line_status,
    voucher_status = 'valid' and line_status = 'valid' as is_posted
from {{ lake_scan('netvisor', 'ledger') }}
