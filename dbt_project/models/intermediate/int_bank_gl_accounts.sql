-- Which GL cash account each bank account posts to, from companies.yaml (bank_connections).
{% set rows = [] %}
{% for c in var('companies') %}{% for b in c.get('bank_connections', []) %}
    {% do rows.append((c.id, b.id, b.gl_cash_account, b.get('account_gl_map', {}))) %}
{% endfor %}{% endfor %}
with connections as (
    {% if rows %}
    select * from (values {% for company, conn, gl, _ in rows %}('{{ company }}', '{{ conn }}', '{{ gl }}'){% if not loop.last %}, {% endif %}{% endfor %})
        as t(company_id, connection_id, gl_cash_account)
    {% else %}
    select cast(null as varchar) as company_id, cast(null as varchar) as connection_id, cast(null as varchar) as gl_cash_account where false
    {% endif %}
),
overrides as (
    {% set pairs = [] %}{% for company, conn, gl, mapping in rows %}{% for acc, glacc in mapping.items() %}{% do pairs.append((conn, acc, glacc)) %}{% endfor %}{% endfor %}
    {% if pairs %}
    select * from (values {% for conn, acc, glacc in pairs %}('{{ conn }}', '{{ acc }}', '{{ glacc }}'){% if not loop.last %}, {% endif %}{% endfor %})
        as t(connection_id, account_id, gl_account)
    {% else %}
    select cast(null as varchar) as connection_id, cast(null as varchar) as account_id, cast(null as varchar) as gl_account where false
    {% endif %}
)
select a.company_id, a.connection_id, a.account_id, coalesce(o.gl_account, c.gl_cash_account) as gl_cash_account
from {{ ref('stg_nag__bank_accounts') }} as a
left join connections as c using (company_id, connection_id)
left join overrides as o using (connection_id, account_id)
