-- Every ERP's posted voucher lines (opening-balance vouchers included) in one shape.
-- Netvisor's deleted and invalidated vouchers and lines, and Procountor's non-official receipts, stop here.
select * from {{ ref('stg_fennoa__ledger') }}
union all by name
select * from {{ ref('stg_fennoa__opening_balances') }}
union all by name
select * exclude (voucher_status, line_status, is_posted) from {{ ref('stg_netvisor__voucher_lines') }} where is_posted
union all by name
select * from {{ ref('stg_procountor__ledger') }}
