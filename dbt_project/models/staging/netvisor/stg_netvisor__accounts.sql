select company_id, 'netvisor' as source_system, account_number, account_name, cast(null as varchar) as vat_code
from {{ lake_scan('netvisor', 'accounts') }}
