{{ config(meta={'dagster': {'ref': {'name': 'fct_account_balances_monthly'}}}) }}
-- A fiscal year's closing balance equals the next year's opening balance for every balance-sheet
-- account; for the result accounts (2250-2379) closing plus the year's result equals the opening.
with years as (
    select company_id, fiscal_year, lead(fiscal_year) over (partition by company_id order by start_date) as next_year
    from {{ ref('dim_fiscal_period') }}
),
closing as (
    select b.company_id, b.fiscal_year, b.account_number, b.closing_balance
    from {{ ref('fct_account_balances_monthly') }} as b
    join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
    where b.month_start = date_trunc('month', f.end_date) and b.account_number < '3'
),
opening as (
    select company_id, fiscal_year, account_number, sum(amount) as opening_balance
    from {{ ref('fct_gl_entries') }} where is_opening_balance group by all
),
opened_years as (select distinct company_id, fiscal_year from opening),
compared as (
    select y.company_id, y.fiscal_year, coalesce(c.account_number, o.account_number) as account_number,
           coalesce(c.closing_balance, 0) as closing_balance, coalesce(o.opening_balance, 0) as opening_balance
    from years as y
    join opened_years as oy on oy.company_id = y.company_id and oy.fiscal_year = y.next_year
    left join closing as c on c.company_id = y.company_id and c.fiscal_year = y.fiscal_year
    full outer join opening as o
        on o.company_id = y.company_id and o.fiscal_year = y.next_year and o.account_number = c.account_number
    where y.next_year is not null
)
select company_id, fiscal_year, account_number, closing_balance, opening_balance,
       'company ' || company_id || ', account ' || account_number || ': closing ' || closing_balance
           || ' of fiscal year ' || fiscal_year || ' <> next opening ' || opening_balance as problem
from compared
where company_id is not null and not (account_number >= '2250' and account_number < '2380')
  and closing_balance <> opening_balance
union all
select c.company_id, c.fiscal_year, '2250-2379', sum(c.closing_balance) - r.result, sum(c.opening_balance),
       'company ' || c.company_id || ': result accounts do not carry fiscal year ' || c.fiscal_year || '''s result'
from compared as c
join {{ ref('int_fiscal_year_results') }} as r using (company_id, fiscal_year)
where c.company_id is not null and c.account_number >= '2250' and c.account_number < '2380'
group by c.company_id, c.fiscal_year, r.result
having sum(c.closing_balance) - r.result <> sum(c.opening_balance)
