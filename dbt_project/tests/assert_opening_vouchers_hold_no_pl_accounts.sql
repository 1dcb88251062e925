{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
select
    g.company_id,
    g.voucher_id,
    g.account_number,
    'company ' || g.company_id || ', opening voucher ' || g.voucher_id || ' posts to P&L account '
    || g.account_number as problem
from {{ ref('fct_gl_entries') }} as g
inner join {{ ref('dim_account') }} as a
    on g.company_id = a.company_id and g.account_number = a.account_number
where g.is_opening_balance and a.statement = 'PL'
