{{ config(meta={'dagster': {'ref': {'name': 'account_classes'}}}) }}
-- Overlapping class ranges would give an account two statements.
select
    a.chart_template,
    a.range_start,
    a.range_end,
    b.range_start as overlaps_start,
    b.range_end as overlaps_end
from {{ ref('account_classes') }} as a
inner join {{ ref('account_classes') }} as b
    on
        a.chart_template = b.chart_template
        and a.range_start < b.range_start
        and b.range_start < a.range_end
