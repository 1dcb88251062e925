-- Lines without an item of a dimension type go to 'unallocated', so for every type the items sum to the P&L.
with lines as (
    select
        g.company_id,
        g.source_system,
        g.fiscal_year,
        g.period_month,
        g.account_number,
        g.credit - g.debit as amount,
        g.dimensions
    from {{ ref('fct_gl_entries') }} as g
    inner join {{ ref('int_accounts') }} as a
        on g.company_id = a.company_id and g.account_number = a.account_number
    where a.statement = 'PL' and not g.is_opening_balance
),

types as (
    select distinct
        company_id,
        dimension_type,
        dimension_type_name
    from {{ ref('dim_dimension') }}
),

per_type as (
    select
        l.company_id,
        l.source_system,
        l.fiscal_year,
        l.period_month,
        l.account_number,
        t.dimension_type,
        t.dimension_type_name,
        l.amount,
        coalesce(
            list_filter(l.dimensions, d -> d.dimension_type = t.dimension_type)[1].item_code, 'unallocated'
        ) as item_code
    from lines as l
    inner join types as t on l.company_id = t.company_id
),

aggregated as (
    select
        company_id,
        source_system,
        fiscal_year,
        period_month,
        dimension_type,
        dimension_type_name,
        item_code,
        account_number,
        sum(amount) as amount
    from per_type
    group by all
)

select
    a.company_id,
    a.source_system,
    a.fiscal_year,
    a.period_month as month_start,
    a.dimension_type,
    a.dimension_type_name,
    a.item_code,
    d.item_name,
    la.report_line_code,
    {{ money('sum(a.amount)') }} as amount
from aggregated as a
inner join {{ ref('int_report_line_accounts') }} as la
    on a.company_id = la.company_id and a.account_number = la.account_number
left join {{ ref('dim_dimension') }} as d
    on a.company_id = d.company_id and a.dimension_type = d.dimension_type and a.item_code = d.item_code
group by all
