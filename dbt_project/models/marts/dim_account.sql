select
    a.company_id,
    a.source_system,
    a.account_number,
    a.account_name,
    a.in_chart_of_accounts,
    a.account_class,
    a.statement,
    a.normal_side,
    la.report_line_code
from {{ ref('int_accounts') }} as a
left join {{ ref('int_report_line_accounts') }} as la
    on a.company_id = la.company_id and a.account_number = la.account_number and la.line_type in ('line', 'memo')
