{{ config(meta={'dagster': {'ref': {'name': 'report_line_ranges'}}}) }}
-- No two leaf lines of one chart template, schema variant and company scope share account numbers.
with leaf as (
    select r.* from {{ ref('report_line_ranges') }} as r
    inner join {{ ref('report_lines') }} as l using (schema_variant, report_line_code)
    where l.line_type in ('line', 'memo')
)

select a.chart_template, a.schema_variant, a.report_line_code, b.report_line_code as overlaps_with
from leaf as a inner join leaf as b
    on a.chart_template = b.chart_template and a.schema_variant = b.schema_variant
    and a.company_id is not distinct from b.company_id
    and (a.report_line_code, a.range_start) < (b.report_line_code, b.range_start)
    and a.range_start < b.range_end and b.range_start < a.range_end
