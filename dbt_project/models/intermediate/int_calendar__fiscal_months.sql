-- Dense months of every fiscal year, taken from the ERP's own fiscal-year dates.
select
    p.company_id,
    p.source_system,
    p.fiscal_year,
    cast(m.month_start as date) as month_start,
    cast(last_day(m.month_start) as date) as month_end,
    cast(
        row_number() over (partition by p.company_id, p.fiscal_year order by m.month_start) as integer
    ) as month_of_fiscal_year
from {{ ref('int_fiscal_periods') }} as p,
    lateral (
        select unnest(
            generate_series(date_trunc('month', p.start_date), date_trunc('month', p.end_date), interval 1 month)
        ) as month_start
    ) as m
