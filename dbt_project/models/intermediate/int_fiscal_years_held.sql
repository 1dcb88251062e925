-- The fiscal years of each company the warehouse holds entries of (a fiscal year the ERP lists outside
-- the partition range is not in the lake), the first of them flagged: the year whose opening comes from
-- its opening vouchers, not from a prior year-end the warehouse does not hold.
with held as (
    select distinct company_id, fiscal_year
    from {{ ref('int_gl__lines_unioned') }}
)

select
    company_id,
    fiscal_year,
    fiscal_year = min(fiscal_year) over (partition by company_id) as is_first_held
from held
