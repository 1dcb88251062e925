select company_id, 'procountor' as source_system, fiscal_year, account_number, balance_date,
       {{ money('balance') }} as reported_balance
from {{ lake_scan('procountor', 'account_balances') }}
