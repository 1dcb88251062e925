-- The general ledger holds exactly what was extracted: per company and fiscal year, the GL's
-- debit and credit totals and line counts equal those re-derived straight from the raw Parquet
-- (posted lines only: Netvisor valid vouchers and lines, Procountor official receipts).
{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
with raw as (
    select company_id, fiscal_year, sum(debit) as debit, sum(credit) as credit, count(*) as lines
    from (
        select company_id, fiscal_year, debit, credit
        from {{ lake_scan('fennoa', 'ledger', {'company_id': 'varchar', 'fiscal_year': 'integer',
                                              'debit': 'decimal(18,2)', 'credit': 'decimal(18,2)'}) }}
        union all
        select company_id, fiscal_year, debit, credit
        from {{ lake_scan('fennoa', 'opening_balances', {'company_id': 'varchar', 'fiscal_year': 'integer',
                                                        'debit': 'decimal(18,2)', 'credit': 'decimal(18,2)'}) }}
        where debit <> 0 or credit <> 0
        union all
        select company_id, fiscal_year, greatest(line_sum, 0), greatest(-line_sum, 0)
        from {{ lake_scan('netvisor', 'ledger', {'company_id': 'varchar', 'fiscal_year': 'integer',
                                                'line_sum': 'decimal(18,2)', 'voucher_status': 'varchar',
                                                'line_status': 'varchar'}) }}
        where voucher_status = 'valid' and line_status = 'valid'
        union all
        select company_id, fiscal_year, greatest(amount, 0), greatest(-amount, 0)
        from {{ lake_scan('procountor', 'ledger', {'company_id': 'varchar', 'fiscal_year': 'integer',
                                                  'amount': 'decimal(18,2)', 'is_official': 'boolean',
                                                  'line_number': 'integer'}) }}
        where is_official and line_number is not null
    )
    group by all
),
gl as (
    select company_id, fiscal_year, sum(debit) as debit, sum(credit) as credit, count(*) as lines
    from {{ ref('fct_gl_entries') }}
    group by all
)
select coalesce(raw.company_id, gl.company_id) as company_id, coalesce(raw.fiscal_year, gl.fiscal_year) as fiscal_year,
       raw.debit as raw_debit, gl.debit as gl_debit, raw.credit as raw_credit, gl.credit as gl_credit,
       raw.lines as raw_lines, gl.lines as gl_lines
from raw
full outer join gl using (company_id, fiscal_year)
where raw.debit is distinct from gl.debit or raw.credit is distinct from gl.credit
   or raw.lines is distinct from gl.lines
