-- Warning: every dimension item a ledger line references (fct_gl_entries.dimensions) is in dim_dimension,
-- so the P&L by dimension can name it; a missing one names company, voucher, type and item.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
with referenced as (
    select company_id, voucher_id, voucher_number, line_number, unnest(dimensions) as item
    from {{ ref('fct_gl_entries') }}
)

select
    r.company_id, r.voucher_id, r.line_number, r.item.dimension_type, r.item.item_code,
    'company ' || r.company_id || ', voucher ' || r.voucher_id || ' (number ' || coalesce(r.voucher_number, '?')
    || '), line ' || r.line_number || ': dimension type ' || r.item.dimension_type || ' item ' || r.item.item_code
    || ' is not in dim_dimension' as problem
from referenced as r
left join {{ ref('dim_dimension') }} as d
    on r.company_id = d.company_id and r.item.dimension_type = d.dimension_type and r.item.item_code = d.item_code
where d.company_id is null
