-- Which GL cash account each bank account posts to, from companies.yaml (bank_connections).
-- Every value from var('companies') reaches SQL through sql_string (an escaped literal).
{% set rows = [] %}
{% set pairs = [] %}
{% for c in var('companies') %}{% for b in c.get('bank_connections', []) %}
    {% do rows.append((c.id, b.id, b.gl_cash_account)) %}
    {% for account, gl_account in b.get('account_gl_map', {}).items() %}
        {% do pairs.append((b.id, account, gl_account)) %}
    {% endfor %}
{% endfor %}{% endfor %}
with connections as (
    {% if rows %}
    select
        t.company_id,
        t.connection_id,
        t.gl_cash_account
    from (values
        {% for company, conn, gl in rows %}
        ({{ sql_string(company) }}, {{ sql_string(conn) }}, {{ sql_string(gl) }}){% if not loop.last %},{% endif %}
        {% endfor %}
    ) as t (company_id, connection_id, gl_cash_account)
    {% else %}
    select
        cast(null as varchar) as company_id,
        cast(null as varchar) as connection_id,
        cast(null as varchar) as gl_cash_account
    where false
    {% endif %}
),

overrides as (
    {% if pairs %}
    select
        t.connection_id,
        t.account_id,
        t.gl_account
    from (values
        {% for conn, acc, gl in pairs %}
        ({{ sql_string(conn) }}, {{ sql_string(acc) }}, {{ sql_string(gl) }}){% if not loop.last %},{% endif %}
        {% endfor %}
    ) as t (connection_id, account_id, gl_account)
    {% else %}
    select
        cast(null as varchar) as connection_id,
        cast(null as varchar) as account_id,
        cast(null as varchar) as gl_account
    where false
    {% endif %}
)

select a.company_id, a.connection_id, a.account_id, coalesce(o.gl_account, c.gl_cash_account) as gl_cash_account
from {{ ref('stg_nag__bank_accounts') }} as a
left join connections as c using (company_id, connection_id)
left join overrides as o using (connection_id, account_id)
