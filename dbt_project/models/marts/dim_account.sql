-- Accounts of each company: class, statement, normal side and statutory leaf line.
with accounts as (
    select company_id, source_system, account_number, account_name from {{ ref('stg_fennoa__accounts') }}
    union all by name
    select company_id, source_system, account_number, account_name from {{ ref('stg_netvisor__accounts') }}
    union all by name
    select company_id, source_system, account_number, account_name from {{ ref('stg_procountor__accounts') }}
    union all by name
    -- accounts used in the ledger but missing from the chart still appear (name unknown)
    select distinct g.company_id, g.source_system, g.account_number, cast(null as varchar) as account_name
    from {{ ref('int_gl__lines_unioned') }} as g
),
one_per_account as (
    select company_id, any_value(source_system) as source_system, account_number,
           max(account_name) as account_name,
           bool_or(account_name is not null) as in_chart_of_accounts
    from accounts group by company_id, account_number
)
select a.company_id, a.source_system, a.account_number, a.account_name, a.in_chart_of_accounts,
       c.account_class, c.statement, c.normal_side, la.report_line_code
from one_per_account as a
left join {{ ref('int_company_settings') }} as s using (company_id)
left join {{ ref('account_classes') }} as c
    on c.chart_template = coalesce(s.chart_template, 'default')
    and a.account_number >= c.range_start and a.account_number < c.range_end
left join {{ ref('int_report_line_accounts') }} as la
    on la.company_id = a.company_id and la.account_number = a.account_number and la.line_type = 'line'
