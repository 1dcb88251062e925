-- Netvisor references dimensions on voucher lines by name, so names are the keys here.
select company_id, 'netvisor' as source_system, dimension_type_name as dimension_type, dimension_type_name,
       item_code, item_name, is_active
from {{ lake_scan('netvisor', 'dimensions') }}
