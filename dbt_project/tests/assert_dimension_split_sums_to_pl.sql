{{ config(meta={'dagster': {'ref': {'name': 'rpt_pl_by_dimension'}}}) }}
-- For every dimension type, the items (unallocated included) sum to the P&L line of the month.
with split as (
    select company_id, month_start, dimension_type, report_line_code, sum(amount) as amount
    from {{ ref('rpt_pl_by_dimension') }}
    group by all
)

select s.company_id, s.month_start, s.dimension_type, s.report_line_code, s.amount, p.amount_month
from split as s
inner join {{ ref('rpt_profit_and_loss') }} as p using (company_id, month_start, report_line_code)
where s.amount <> p.amount_month
