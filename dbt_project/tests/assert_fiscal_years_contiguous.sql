-- Fiscal years per company follow each other without gap or overlap and last 1-18 months.
select company_id, fiscal_year, start_date, end_date, previous_end,
       'company ' || company_id || ': fiscal year ' || fiscal_year || ' is not contiguous or not 1-18 months' as problem
from (
    select *, lag(end_date) over (partition by company_id order by start_date) as previous_end
    from {{ ref('dim_fiscal_period') }}
)
where (previous_end is not null and start_date <> previous_end + interval 1 day)
   or length_months not between 1 and 18
