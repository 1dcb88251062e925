-- Assets equal equity plus liabilities at every month end.
select company_id, month_end,
       max(amount) filter (where report_line_code = 'BS_ASSETS_TOTAL') as assets,
       max(amount) filter (where report_line_code = 'BS_EQUITY_AND_LIABILITIES_TOTAL') as equity_and_liabilities,
       'company ' || company_id || ': balance sheet at ' || month_end || ' does not balance' as problem
from {{ ref('rpt_balance_sheet') }}
group by company_id, month_end
having assets is distinct from equity_and_liabilities
