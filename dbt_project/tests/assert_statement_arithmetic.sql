-- The leaf lines of the P&L add up to the net result, every company and month.
select company_id, month_start,
       sum(amount_month) filter (where line_type = 'line') as leaves,
       max(amount_month) filter (where report_line_code = 'PL_NET_RESULT') as net_result
from {{ ref('rpt_profit_and_loss') }}
group by all
having leaves is distinct from net_result
