-- Per company: report schema variant (KPA / PMA) and chart template, from companies.yaml.
-- depends_on: {{ ref('int_gl__lines_unioned') }}
{% set rows = [] %}
{% for c in var('companies') %}
    {% do rows.append((c.id, c.get("report_schema", "KPA"), c.get("chart_template", "default"))) %}
{% endfor %}
with configured as (
    {{ config_rows(rows, ['company_id', 'schema_variant', 'chart_template']) }}
)

select distinct
    g.company_id,
    coalesce(c.schema_variant, 'KPA') as schema_variant,
    coalesce(c.chart_template, 'default') as chart_template
from {{ ref('int_gl__lines_unioned') }} as g
left join configured as c using (company_id)
