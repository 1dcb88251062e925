select company_id, 'nordic_api_gateway' as source_system, connection_id, account_id, provider_id, name, iban,
       currency, {{ money('booked_balance') }} as booked_balance, {{ money('available_balance') }} as available_balance,
       account_type
from {{ lake_scan('nag', 'bank_accounts') }}
