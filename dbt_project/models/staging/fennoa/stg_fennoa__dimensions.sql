select
    company_id,
    'fennoa' as source_system,
    dimension_type_id as dimension_type,
    dimension_type_name,
    item_code,
    item_name,
    is_active
from {{ lake_scan('fennoa', 'dimensions') }}
