select * from {{ ref('stg_fennoa__periods') }}
union all by name
select * from {{ ref('stg_netvisor__periods') }}
union all by name
select * from {{ ref('stg_procountor__periods') }}
