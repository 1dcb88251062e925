{{ config(meta={'dagster': {'ref': {'name': 'int_company_settings'}}}) }}
-- Every company's report schema (companies.yaml report_schema) is one the report_lines seed defines, so no
-- company silently gets empty statements.
with variants as (select distinct schema_variant from {{ ref('report_lines') }})

select
    s.company_id, s.schema_variant,
    'company ' || s.company_id || ': report schema ' || coalesce(s.schema_variant, 'none')
    || ' has no lines in the report_lines seed' as problem
from {{ ref('int_company_settings') }} as s
left join variants as l using (schema_variant)
where l.schema_variant is null
