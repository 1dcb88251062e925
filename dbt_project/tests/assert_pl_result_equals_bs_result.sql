{{ config(meta={'dagster': {'ref': {'name': 'rpt_balance_sheet'}}}) }}
-- The P&L's net result year to date equals the balance sheet's current-year result, every month.
select p.company_id, p.month_end, p.amount_ytd as pl_result, b.amount as bs_result,
       'company ' || p.company_id || ': P&L result ' || p.amount_ytd || ' <> balance-sheet result ' || b.amount
           || ' at ' || p.month_end as problem
from {{ ref('rpt_profit_and_loss') }} as p
inner join {{ ref('rpt_balance_sheet') }} as b
    on p.company_id = b.company_id and p.month_end = b.month_end and b.report_line_code = 'BS_CURRENT_YEAR_RESULT'
where p.report_line_code = 'PL_NET_RESULT' and p.amount_ytd <> b.amount
