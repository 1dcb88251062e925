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
    inner join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
    inner join {{ ref('dim_account') }} as a using (company_id, account_number)
    where b.month_start = date_trunc('month', f.end_date) and a.statement = 'BS'
),

opening as (
    select company_id, fiscal_year, account_number, sum(amount) as opening_balance
    from {{ ref('fct_gl_entries') }}
    where is_opening_balance
    group by all
),

opened_years as (select distinct company_id, fiscal_year from opening),

-- each fiscal year the warehouse holds followed by a year that has an opening voucher (a year outside
-- the partition range is not in the lake: there is no closing to compare)
pairs as (
    select y.company_id, y.fiscal_year, y.next_year
    from years as y
    inner join {{ ref('int_fiscal_years_held') }} as h on y.company_id = h.company_id and y.fiscal_year = h.fiscal_year
    inner join opened_years as oy on y.company_id = oy.company_id and y.next_year = oy.fiscal_year
),

closing_of_pair as (
    select p.company_id, p.fiscal_year, c.account_number, c.closing_balance
    from pairs as p
    inner join closing as c on p.company_id = c.company_id and p.fiscal_year = c.fiscal_year
),

opening_of_pair as (
    select p.company_id, p.fiscal_year, o.account_number, o.opening_balance
    from pairs as p
    inner join opening as o on p.company_id = o.company_id and p.next_year = o.fiscal_year
),

-- an account on one side only (closed to zero, or opened new) compares with 0 on the other
compared as (
    select coalesce(c.company_id, o.company_id) as company_id,
           coalesce(c.fiscal_year, o.fiscal_year) as fiscal_year,
           coalesce(c.account_number, o.account_number) as account_number,
           coalesce(c.closing_balance, 0) as closing_balance, coalesce(o.opening_balance, 0) as opening_balance
    from closing_of_pair as c
    full outer join opening_of_pair as o
        on c.company_id = o.company_id and c.fiscal_year = o.fiscal_year and c.account_number = o.account_number
)

select company_id, fiscal_year, account_number, closing_balance, opening_balance,
       'company ' || company_id || ', account ' || account_number || ': closing ' || closing_balance
           || ' of fiscal year ' || fiscal_year || ' <> next opening ' || opening_balance as problem
from compared
where not (account_number >= '2250' and account_number < '2380')
  and closing_balance <> opening_balance
union all
select c.company_id, c.fiscal_year, '2250-2379' as account_number,
       sum(c.closing_balance) - r.result as closing_balance, sum(c.opening_balance) as opening_balance,
       'company ' || c.company_id || ': result accounts do not carry fiscal year ' || c.fiscal_year || '''s result'
           as problem
from compared as c
inner join {{ ref('int_fiscal_year_results') }} as r using (company_id, fiscal_year)
where c.account_number >= '2250' and c.account_number < '2380'
group by c.company_id, c.fiscal_year, r.result
having sum(c.closing_balance) - r.result <> sum(c.opening_balance)
