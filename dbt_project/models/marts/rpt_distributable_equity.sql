-- Distributable free equity (jakokelpoinen vapaa oma pääoma, OYL 13:5) per company and month end:
-- free equity (OYL 8:2: the reserves other than the restricted ones, and the prior-years and current-year
-- results) less the development costs carried as an asset (KPA 1:6 Vastaavaa A I 1). Restricted equity
-- (sidottu oma pääoma, OYL 8:1) is the share capital, share premium, revaluation, fair value and legal
-- reserves. The equity accounts are grouped by the KPA balance sheet's items of the company's chart
-- template, a company's own ranges for an item replacing the template's as in int_report_line_accounts (so
-- a PMA company, whose balance sheet shows Muut rahastot as one line, still has its legal reserve apart);
-- the two result lines are the balance sheet's own, computed results included.
with kpa_items as (
    -- the KPA items' ranges of each company's chart template, a company's own ranges for an item
    -- replacing the template's (the rule of int_report_line_accounts)
    select k.company_id, k.report_line_code, k.range_start, k.range_end
    from {{ company_line_ranges([
        'BS_SHARE_CAPITAL', 'BS_SHARE_PREMIUM', 'BS_REVALUATION_RESERVE', 'BS_FAIR_VALUE_RESERVE',
        'BS_LEGAL_RESERVE', 'BS_STATUTORY_RESERVES', 'BS_OTHER_RESERVES_OTHER', 'BS_CAPITAL_DEFICIT',
        'BS_PRIVATE_ACCOUNTS', 'BS_CAPITAL_LOANS', 'BS_DEVELOPMENT_COSTS'
    ], 'KPA') }} as k
),

items as (
    -- natural side positive: equity credit minus debit, development costs (an asset) debit minus credit
    select
        b.company_id,
        b.month_end,
        k.report_line_code,
        sum(case when k.report_line_code = 'BS_DEVELOPMENT_COSTS' then b.closing_balance else -b.closing_balance end)
            as amount
    from {{ ref('int_account_balances_monthly') }} as b
    inner join kpa_items as k
        on b.company_id = k.company_id and k.range_start <= b.account_number and b.account_number < k.range_end
    where b.statement = 'BS'
    group by all
),

pivoted as (
    select
        company_id,
        month_end,
        coalesce(sum(amount) filter (where report_line_code in (
            'BS_SHARE_CAPITAL', 'BS_SHARE_PREMIUM', 'BS_REVALUATION_RESERVE', 'BS_FAIR_VALUE_RESERVE',
            'BS_LEGAL_RESERVE'
        )), 0) as restricted_equity,
        coalesce(sum(amount) filter (where report_line_code in ('BS_STATUTORY_RESERVES', 'BS_OTHER_RESERVES_OTHER')), 0)
            as free_reserves,
        coalesce(sum(amount) filter (where report_line_code in (
            'BS_CAPITAL_DEFICIT', 'BS_PRIVATE_ACCOUNTS', 'BS_CAPITAL_LOANS'
        )), 0) as other_equity,
        coalesce(sum(amount) filter (where report_line_code = 'BS_DEVELOPMENT_COSTS'), 0) as development_costs
    from items
    group by all
),

results as (
    select
        company_id,
        source_system,
        fiscal_year,
        month_end,
        max(amount) filter (where report_line_code = 'BS_PRIOR_YEARS_RESULT') as prior_years_result,
        max(amount) filter (where report_line_code = 'BS_CURRENT_YEAR_RESULT') as current_year_result,
        max(amount) filter (where report_line_code = 'BS_EQUITY_TOTAL') as equity_total
    from {{ ref('rpt_balance_sheet') }}
    group by all
)

select
    r.company_id,
    r.source_system,
    r.fiscal_year,
    r.month_end,
    {{ money('coalesce(p.restricted_equity, 0)') }} as restricted_equity,
    {{ money('coalesce(p.free_reserves, 0)') }} as free_reserves,
    r.prior_years_result,
    r.current_year_result,
    {{ money('coalesce(p.free_reserves, 0) + r.prior_years_result + r.current_year_result') }} as free_equity,
    {{ money('coalesce(p.development_costs, 0)') }} as development_costs,
    {{ money('coalesce(p.free_reserves, 0) + r.prior_years_result + r.current_year_result
        - coalesce(p.development_costs, 0)') }} as distributable_free_equity,
    {{ money('coalesce(p.other_equity, 0)') }} as other_equity,
    r.equity_total
from results as r
left join pivoted as p on r.company_id = p.company_id and r.month_end = p.month_end
