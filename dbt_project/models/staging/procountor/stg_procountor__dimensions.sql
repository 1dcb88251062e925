-- Procountor references dimensions and items on transactions by numeric id.
select company_id, 'procountor' as source_system, dimension_type_id as dimension_type, dimension_type_name,
       item_id as item_code, item_code as item_name, is_active
from {{ lake_scan('procountor', 'dimensions') }}
