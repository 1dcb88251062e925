-- Every voucher balances: sum(debit) = sum(credit). A row here names the company and voucher.
select company_id, voucher_id, voucher_number, sum(debit) as total_debit, sum(credit) as total_credit,
       'company ' || company_id || ', voucher ' || voucher_id || ' (number ' || coalesce(voucher_number, '?')
           || ') does not balance: debit ' || sum(debit) || ' vs credit ' || sum(credit) as problem
from {{ ref('fct_gl_entries') }}
group by company_id, voucher_id, voucher_number
having sum(debit) <> sum(credit)
