-- The general ledger holds exactly what was extracted: per company and fiscal year, the GL's
-- debit and credit totals and line counts equal those re-derived straight from the raw Parquet
-- by each ERP's stg_<erp>__raw_gl_amounts (posted lines only).
{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
with raw_amounts as (
    {{ union_erp_models('raw_gl_amounts') }}
),

raw as (
    select
        company_id,
        fiscal_year,
        sum(debit) as debit,
        sum(credit) as credit,
        count(*) as line_count
    from raw_amounts
    group by all
),

gl as (
    select
        company_id,
        fiscal_year,
        sum(debit) as debit,
        sum(credit) as credit,
        count(*) as line_count
    from {{ ref('fct_gl_entries') }}
    group by all
)

select
    coalesce(raw.company_id, gl.company_id) as company_id,
    coalesce(raw.fiscal_year, gl.fiscal_year) as fiscal_year,
    raw.debit as raw_debit,
    gl.debit as gl_debit,
    raw.credit as raw_credit,
    gl.credit as gl_credit,
    raw.line_count as raw_lines,
    gl.line_count as gl_lines
from raw
full outer join gl on raw.company_id = gl.company_id and raw.fiscal_year = gl.fiscal_year
where
    raw.debit is distinct from gl.debit
    or raw.credit is distinct from gl.credit
    or raw.line_count is distinct from gl.line_count
