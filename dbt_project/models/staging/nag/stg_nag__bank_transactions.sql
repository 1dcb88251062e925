select company_id, 'nordic_api_gateway' as source_system, fiscal_year, connection_id, account_id, transaction_id,
       booking_date, state, {{ money('amount') }} as amount, currency, {{ money('balance') }} as balance_after,
       text, type
from {{ lake_scan('nag', 'bank_transactions') }}
