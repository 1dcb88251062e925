-- Netvisor's posted GL lines: deleted and invalidated vouchers and lines stop here.
select * exclude (voucher_status, line_status, is_posted)
from {{ ref('stg_netvisor__voucher_lines') }}
where is_posted
