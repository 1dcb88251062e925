-- One row per company and account, from the charts of accounts and from the ledger (an account used
-- in the ledger but missing from the chart still appears, name unknown), with the class, statement
-- (BS / PL) and normal side its number falls into in the account_classes seed.
with chart as (
    {{ union_erp_models('accounts') }}
),

accounts as (
    select company_id, source_system, account_number, account_name from chart
    union all by name
    select distinct
        company_id,
        source_system,
        account_number,
        cast(null as varchar) as account_name
    from {{ ref('int_gl__lines_unioned') }}
),

one_per_account as (
    select
        company_id,
        account_number,
        any_value(source_system) as source_system,
        max(account_name) as account_name,
        bool_or(account_name is not null) as in_chart_of_accounts
    from accounts
    group by company_id, account_number
)

select
    a.company_id,
    a.source_system,
    a.account_number,
    a.account_name,
    a.in_chart_of_accounts,
    c.account_class,
    c.statement,
    c.normal_side
from one_per_account as a
left join {{ ref('int_company_settings') }} as s on a.company_id = s.company_id
left join {{ ref('account_classes') }} as c
    on
        c.chart_template = coalesce(s.chart_template, 'default')
        and a.account_number >= c.range_start
        and a.account_number < c.range_end
