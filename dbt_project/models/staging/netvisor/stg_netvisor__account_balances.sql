select company_id, 'netvisor' as source_system, fiscal_year, account_number, balance_date,
       {{ money('debit - credit') }} as reported_balance
from {{ lake_scan('netvisor', 'account_balances') }}
