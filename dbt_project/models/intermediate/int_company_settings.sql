-- Per company: report schema variant (KPA / PMA) and chart template, from companies.yaml.
-- Every value from var('companies') reaches SQL through sql_string (an escaped literal).
-- depends_on: {{ ref('int_gl__lines_unioned') }}
{% set companies = var('companies') %}
with configured as (
    {% if companies %}
    select
        t.company_id,
        t.schema_variant,
        t.chart_template
    from (values
        {% for c in companies %}
        (
            {{ sql_string(c.id) }}, {{ sql_string(c.get("report_schema", "KPA")) }},
            {{ sql_string(c.get("chart_template", "default")) }}
        )
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    ) as t (company_id, schema_variant, chart_template)
    {% else %}
    select
        cast(null as varchar) as company_id,
        cast(null as varchar) as schema_variant,
        cast(null as varchar) as chart_template
    where false
    {% endif %}
)

select distinct g.company_id,
       coalesce(c.schema_variant, 'KPA') as schema_variant,
       coalesce(c.chart_template, 'default') as chart_template
from {{ ref('int_gl__lines_unioned') }} as g
left join configured as c using (company_id)
