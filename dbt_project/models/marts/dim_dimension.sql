select
    company_id,
    source_system,
    dimension_type,
    dimension_type_name,
    item_code,
    item_name,
    is_active
from {{ ref('int_dimensions') }}
