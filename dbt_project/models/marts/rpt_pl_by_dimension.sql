-- For each P&L line and dimension type, every item of that type gets the amount split to it, and what
-- the type's splits leave uncovered (the whole line when it has none of that type) goes to
-- 'unallocated', so for every type the items sum to the P&L exactly. Presented credit minus debit:
-- a split's amount is signed like the ledger (debit positive), so it is negated here.
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
    -- the line's items of this type whose split is known (a null split stays unallocated)
    select
        l.company_id,
        l.source_system,
        l.fiscal_year,
        l.period_month,
        l.account_number,
        t.dimension_type,
        t.dimension_type_name,
        l.amount,
        list_filter(l.dimensions, d -> d.dimension_type = t.dimension_type and d.amount is not null) as splits
    from lines as l
    inner join types as t on l.company_id = t.company_id
),

covered as (
    -- the splits are signed debit positive, the line credit minus debit: what they leave uncovered
    select
        *,
        amount + coalesce(list_sum(list_transform(splits, d -> d.amount)), 0) as uncovered
    from per_type
),

items as (
    select
        company_id,
        source_system,
        fiscal_year,
        period_month,
        account_number,
        dimension_type,
        dimension_type_name,
        unnest(splits) as split
    from per_type
),

allocated as (
    select
        i.company_id,
        i.source_system,
        i.fiscal_year,
        i.period_month,
        i.account_number,
        i.dimension_type,
        i.dimension_type_name,
        i.split.item_code,
        -i.split.amount as amount
    from items as i
    union all
    select
        company_id,
        source_system,
        fiscal_year,
        period_month,
        account_number,
        dimension_type,
        dimension_type_name,
        'unallocated' as item_code,
        uncovered as amount
    from covered
    where len(splits) = 0 or uncovered <> 0
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
    from allocated
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
