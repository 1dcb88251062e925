-- Every receipt the index listed: official ones with their lines, the others with the reason.
select
    company_id,
    'procountor' as source_system,
    fiscal_year,
    receipt_id,
    receipt_type,
    receipt_status,
    receipt_number,
    receipt_date,
    receipt_version,
    is_official,
    exclusion_reason,
    count(line_number) as line_count
from {{ lake_scan('procountor', 'ledger') }}
group by all
