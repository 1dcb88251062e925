select * from {{ ref('stg_fennoa__periods') }}
