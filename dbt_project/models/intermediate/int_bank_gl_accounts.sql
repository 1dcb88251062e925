-- Which GL cash account each bank account posts to, from companies.yaml (bank_connections).
with connections as (
    select * from {{ config_table('bank_connections', ['company_id', 'connection_id', 'gl_cash_account']) }}
),

overrides as (
    select *
    from {{ config_table('bank_account_gl_map', ['company_id', 'connection_id', 'account_id', 'gl_account']) }}
)

select a.company_id, a.connection_id, a.account_id, coalesce(o.gl_account, c.gl_cash_account) as gl_cash_account
from {{ ref('stg_nag__bank_accounts') }} as a
left join connections as c using (company_id, connection_id)
left join overrides as o using (company_id, connection_id, account_id)
