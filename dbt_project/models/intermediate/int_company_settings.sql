-- Per company: report schema variant (KPA / PMA) and chart template, from companies.yaml.
with configured as (
    select * from {{ config_table('companies', ['company_id', 'report_schema', 'chart_template']) }}
)

select distinct
    g.company_id,
    coalesce(c.report_schema, 'KPA') as schema_variant,
    coalesce(c.chart_template, 'default') as chart_template
from {{ ref('int_gl__lines_unioned') }} as g
left join configured as c using (company_id)
