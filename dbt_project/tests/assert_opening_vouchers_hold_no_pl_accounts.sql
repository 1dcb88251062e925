select company_id, voucher_id, account_number,
       'company ' || company_id || ', opening voucher ' || voucher_id || ' posts to P&L account ' || account_number as problem
from {{ ref('fct_gl_entries') }}
where is_opening_balance and account_number >= '3'
