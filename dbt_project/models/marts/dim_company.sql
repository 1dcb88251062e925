-- Companies as configured in companies.yaml (passed by Dagster as the `companies` var).
-- Every value from var('companies') reaches SQL through sql_string (an escaped literal).
-- depends_on: {{ ref('int_gl__lines_unioned') }}
{% set companies = var('companies') %}
{% if companies %}
select
    t.company_id,
    t.source_system,
    t.company_name,
    t.business_id,
    t.report_schema,
    t.reporting_currency
from (values
    {% for c in companies %}
    (
        {{ sql_string(c.id) }}, {{ sql_string(c.erp) }}, {{ sql_string(c.name) }}, {{ sql_string(c.business_id) }},
        {{ sql_string(c.get("report_schema", "KPA")) }}, 'EUR'
    ){% if not loop.last %},{% endif %}
    {% endfor %}
) as t (company_id, source_system, company_name, business_id, report_schema, reporting_currency)
{% else %}
select distinct company_id, source_system, company_id as company_name, cast(null as varchar) as business_id,
       'KPA' as report_schema, 'EUR' as reporting_currency
from {{ ref('int_gl__lines_unioned') }}
{% endif %}
