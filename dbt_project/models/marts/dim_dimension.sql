-- Dimension items per company (cost centres, projects). `dimension_type` and `item_code` are the
-- identifiers the ERP uses on ledger lines, so they join to fct_gl_entries.dimensions.
select * from {{ ref('stg_fennoa__dimensions') }}
union all by name
select * from {{ ref('stg_netvisor__dimensions') }}
union all by name
select * from {{ ref('stg_procountor__dimensions') }}
