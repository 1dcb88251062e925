-- Fennoa keeps opening balances outside the ledger; they become one opening voucher per fiscal year.
select
    company_id,
    'fennoa' as source_system,
    fiscal_year,
    'OB-' || period_id as voucher_id,
    'OB-' || period_id as voucher_number,
    'OPENING' as voucher_type,
    cast(row_number() over (partition by company_id, period_id order by account_number) as integer) as line_number,
    period_start as entry_date,
    account_number,
    'Opening balance' as description,
    {{ money('debit') }} as debit,
    {{ money('credit') }} as credit,
    cast(null as varchar) as vat_code,
    cast([] as struct(dimension_type varchar, item_code varchar, amount decimal(18, 2))[]) as dimensions,
    true as is_opening_balance
from {{ lake_scan('fennoa', 'opening_balances') }}
where debit <> 0 or credit <> 0
