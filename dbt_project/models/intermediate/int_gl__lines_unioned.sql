-- Every ERP's posted voucher lines (opening-balance vouchers included) in one shape.
select * from {{ ref('stg_fennoa__ledger') }}
union all by name
select * from {{ ref('stg_fennoa__opening_balances') }}
