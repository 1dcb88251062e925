-- Which GL cash account each bank account posts to, from companies.yaml (bank_connections).
-- Every value from var('companies') reaches SQL through config_rows / sql_string (escaped literals).
{% set rows = [] %}
{% set pairs = [] %}
{% for c in var('companies') %}{% for b in c.get('bank_connections', []) %}
    {% do rows.append((c.id, b.id, b.gl_cash_account)) %}
    {% for account, gl_account in b.get('account_gl_map', {}).items() %}
        {% do pairs.append((b.id, account, gl_account)) %}
    {% endfor %}
{% endfor %}{% endfor %}
with connections as (
    {{ config_rows(rows, ['company_id', 'connection_id', 'gl_cash_account']) }}
),

overrides as (
    {{ config_rows(pairs, ['connection_id', 'account_id', 'gl_account']) }}
)

select a.company_id, a.connection_id, a.account_id, coalesce(o.gl_account, c.gl_cash_account) as gl_cash_account
from {{ ref('stg_nag__bank_accounts') }} as a
left join connections as c using (company_id, connection_id)
left join overrides as o using (connection_id, account_id)
