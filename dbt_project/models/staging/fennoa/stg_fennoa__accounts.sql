select
    company_id,
    'fennoa' as source_system,
    account_number,
    account_name,
    vatcode as vat_code
from {{ lake_scan('fennoa', 'accounts') }}
