-- Fennoa's posted GL lines: the ledger plus the opening vouchers built from its opening balances.
select * from {{ ref('stg_fennoa__ledger') }}
union all by name
select * from {{ ref('stg_fennoa__opening_balances') }}
