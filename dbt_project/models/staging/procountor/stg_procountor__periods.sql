select
    company_id,
    'procountor' as source_system,
    period_id as fiscal_period_id,
    fiscal_year,
    start_date,
    end_date,
    is_locked
from {{ lake_scan('procountor', 'periods') }}
