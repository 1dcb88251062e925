-- Every voucher line is dated inside the fiscal year it belongs to.
{{ config(meta={'dagster': {'ref': {'name': 'fct_gl_entries'}}}) }}
select g.company_id, g.voucher_id, g.entry_date, g.fiscal_year,
       'company ' || g.company_id || ', voucher ' || g.voucher_id || ': dated ' || g.entry_date
           || ', outside fiscal year ' || g.fiscal_year as problem
from {{ ref('fct_gl_entries') }} as g
left join {{ ref('dim_fiscal_period') }} as f using (company_id, fiscal_year)
where f.company_id is null or g.entry_date not between f.start_date and f.end_date
