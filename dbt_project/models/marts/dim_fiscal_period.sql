select
    company_id,
    source_system,
    fiscal_year,
    fiscal_period_id,
    start_date,
    end_date,
    cast(datediff('month', start_date, end_date) + 1 as integer) as length_months,
    is_locked as is_closed,
    fiscal_year = min(fiscal_year) over (partition by company_id) as is_first
from {{ ref('int_fiscal_periods') }}
