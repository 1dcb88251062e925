select company_id, 'netvisor' as source_system, period_id as fiscal_period_id, fiscal_year, start_date, end_date, is_locked
from {{ lake_scan('netvisor', 'periods', {
    'company_id': 'varchar', 'period_id': 'varchar', 'fiscal_year': 'integer', 'start_date': 'date',
    'end_date': 'date', 'is_locked': 'boolean'}) }}
