-- Fennoa's posted GL lines: the ledger plus the opening vouchers built from its opening balances.
-- Fennoa's ledger rows carry no id of their own (the connector keeps the statement id and the row's
-- position), and opening vouchers are built here: line_key is null.
with lines as (
    select * from {{ ref('stg_fennoa__ledger') }}
    union all by name
    select * from {{ ref('stg_fennoa__opening_balances') }}
)

select
    *,
    cast(null as varchar) as line_key
from lines
