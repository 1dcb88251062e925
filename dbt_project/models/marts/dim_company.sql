-- Companies as configured in companies.yaml; a dbt run by hand with no companies' tables lists the
-- companies the GL holds instead, by id.
with configured as (
    select *
    from
        {{ config_table('companies', ['company_id', 'source_system', 'company_name', 'business_id', 'report_schema']) }}
)

select company_id, source_system, company_name, business_id, report_schema, 'EUR' as reporting_currency
from configured
union all
select distinct
    company_id,
    source_system,
    company_id as company_name,
    cast(null as varchar) as business_id,
    'KPA' as report_schema,
    'EUR' as reporting_currency
from {{ ref('int_gl__lines_unioned') }}
where not exists (select 1 from configured)
