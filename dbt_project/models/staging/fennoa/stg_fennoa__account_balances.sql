-- Balances Fennoa itself reports at each fiscal year's end (for reconciliation).
select
    company_id,
    'fennoa' as source_system,
    fiscal_year,
    account_number,
    balance_date,
    {{ money('debit - credit') }} as reported_balance
from {{ lake_scan('fennoa', 'account_balances') }}
