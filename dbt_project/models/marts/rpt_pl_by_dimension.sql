-- P&L per company x month x dimension type x item x report line. Lines without an item of a type
-- go to 'unallocated', so for every dimension type the items sum to the P&L.
with lines as (
    select company_id, source_system, fiscal_year, period_month, account_number, credit - debit as amount, dimensions
    from {{ ref('fct_gl_entries') }}
    where account_number >= '3' and not is_opening_balance
),
types as (
    select distinct company_id, dimension_type, dimension_type_name from {{ ref('dim_dimension') }}
),
per_type as (
    select l.company_id, l.source_system, l.fiscal_year, l.period_month, l.account_number, t.dimension_type,
           t.dimension_type_name,
           coalesce(list_filter(l.dimensions, d -> d.dimension_type = t.dimension_type)[1].item_code, 'unallocated') as item_code,
           l.amount
    from lines as l
    join types as t using (company_id)
),
aggregated as (
    select company_id, source_system, fiscal_year, period_month, dimension_type, dimension_type_name, item_code,
           account_number, sum(amount) as amount
    from per_type group by all
)
select a.company_id, a.source_system, a.fiscal_year, a.period_month as month_start, a.dimension_type,
       a.dimension_type_name, a.item_code, d.item_name, la.report_line_code, {{ money('sum(a.amount)') }} as amount
from aggregated as a
join {{ ref('int_report_line_accounts') }} as la using (company_id, account_number)
left join {{ ref('dim_dimension') }} as d
    on d.company_id = a.company_id and d.dimension_type = a.dimension_type and d.item_code = a.item_code
group by all
