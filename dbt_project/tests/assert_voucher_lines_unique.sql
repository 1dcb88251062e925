-- A voucher line is extracted once: no duplicate (company, voucher, line) keys.
select company_id, voucher_id, line_number, count(*) as copies,
       'company ' || company_id || ', voucher ' || voucher_id || ', line ' || line_number || ' appears '
           || count(*) || ' times' as problem
from {{ ref('fct_gl_entries') }}
group by company_id, voucher_id, line_number
having count(*) > 1
