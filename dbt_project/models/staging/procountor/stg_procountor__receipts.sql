-- Every receipt the index listed: official ones with their lines, the others with the reason.
select
    company_id,
    'procountor' as source_system,
    fiscal_year,
    receipt_id,
    receipt_type,
    receipt_status,
    receipt_number,
    receipt_date,
    receipt_version,
    is_official,
    exclusion_reason,
    count(line_number) as lines
from {{ lake_scan('procountor', 'ledger', {
    'company_id': 'varchar', 'fiscal_year': 'integer', 'receipt_id': 'varchar', 'receipt_type': 'varchar',
    'receipt_status': 'varchar', 'receipt_number': 'varchar', 'receipt_date': 'date', 'receipt_version': 'varchar',
    'is_official': 'boolean', 'exclusion_reason': 'varchar', 'line_number': 'integer'}) }}
group by all
