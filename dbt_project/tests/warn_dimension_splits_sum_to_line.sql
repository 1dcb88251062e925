-- Warning: for every GL line and every dimension type it carries, the items' split amounts sum to the
-- line's amount (both debit positive). A null split (Parquet written before the ERP's split amount was
-- kept, several items of one type) is unknown and named too; rpt_pl_by_dimension leaves it unallocated.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
with items as (
    select company_id, voucher_id, voucher_number, line_number, amount, unnest(dimensions) as item
    from {{ ref('fct_gl_entries') }}
),

per_type as (
    select
        i.company_id,
        i.voucher_id,
        i.voucher_number,
        i.line_number,
        i.item.dimension_type,
        i.amount as line_amount,
        count(*) as items,
        -- null as soon as one split of the type is unknown
        case when count(i.item.amount) = count(*) then sum(i.item.amount) end as split_sum
    from items as i
    group by all
),

type_names as (
    select distinct company_id, dimension_type, dimension_type_name from {{ ref('dim_dimension') }}
)

select p.company_id, p.voucher_id, p.line_number, p.dimension_type, p.items, p.split_sum, p.line_amount,
       'company ' || p.company_id || ', voucher ' || p.voucher_id || ' (number ' || coalesce(p.voucher_number, '?')
           || '), line ' || p.line_number || ', dimension type ' || p.dimension_type
           || coalesce(' (' || n.dimension_type_name || ')', '') || ': ' || p.items || ' items split '
           || coalesce(cast(p.split_sum as varchar), 'an unknown amount') || ', the line amount is ' || p.line_amount
           as problem
from per_type as p
left join type_names as n using (company_id, dimension_type)
where p.split_sum is distinct from p.line_amount
