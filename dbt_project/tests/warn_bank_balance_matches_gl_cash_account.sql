-- Warning: each bank account's booked balance agrees with its GL cash account at month ends.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_bank_transactions'}}}) }}
with month_ends as (
    select distinct b.company_id, b.fiscal_year, b.month_start, b.month_end, b.account_number, b.closing_balance
    from {{ ref('fct_account_balances_monthly') }} as b
),

bank as (
    select t.company_id, t.account_id, g.gl_cash_account, m.month_end, m.closing_balance as gl_balance,
           (select t2.balance_after from {{ ref('fct_bank_transactions') }} as t2
            where t2.account_id = t.account_id and t2.is_booked and t2.booking_date <= m.month_end
            order by t2.booking_date desc, t2.transaction_id desc limit 1) as bank_balance
    from (select distinct company_id, account_id from {{ ref('fct_bank_transactions') }}) as t
    inner join {{ ref('int_bank_gl_accounts') }} as g using (company_id, account_id)
    inner join month_ends as m on t.company_id = m.company_id and g.gl_cash_account = m.account_number
    where m.month_end <= (
        select max(t3.booking_date) from {{ ref('fct_bank_transactions') }} as t3
        where t3.account_id = t.account_id and t3.is_booked
    )
)

select company_id, account_id, gl_cash_account, month_end, bank_balance, gl_balance,
       'company ' || company_id || ', bank account ' || account_id || ' at ' || month_end || ': bank '
           || coalesce(cast(bank_balance as varchar), 'none') || ' vs GL ' || gl_cash_account || ' ' || gl_balance
           as problem
from bank
where bank_balance is distinct from gl_balance
