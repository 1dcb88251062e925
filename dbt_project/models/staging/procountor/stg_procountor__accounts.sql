select company_id, 'procountor' as source_system, account_number, account_name, cast(null as varchar) as vat_code
from {{ lake_scan('procountor', 'accounts') }}
