{{ config(meta={'dagster': {'ref': {'name': 'rpt_balance_reconciliation'}}}) }}
-- Our closing balance equals the ERP's own reported balance for every account at every fiscal-year end,
-- and the ERP reported balances at all for every fiscal year with ledger activity: a year it reported
-- nothing for (an empty or missing account_balances partition) would otherwise pass unchecked.
with activity as (
    select company_id, source_system, fiscal_year, count(*) as gl_lines
    from {{ ref('fct_gl_entries') }}
    group by all
),

reported as (
    select distinct company_id, fiscal_year
    from {{ ref('rpt_balance_reconciliation') }}
    where erp_reported
)

select company_id, source_system, fiscal_year, account_number, balance_date, our_balance, erp_balance, difference,
       'company ' || company_id || ', account ' || account_number || ' at ' || balance_date || ': ours '
           || our_balance || ', ERP ' || erp_balance as problem
from {{ ref('rpt_balance_reconciliation') }}
where erp_reported and difference <> 0
union all
-- an account we hold a balance on that the ERP left out of a year it did report
select b.company_id, b.source_system, b.fiscal_year, b.account_number, b.balance_date, b.our_balance,
       null as erp_balance, b.difference,
       'company ' || b.company_id || ', account ' || b.account_number || ' at ' || b.balance_date || ': ours '
           || b.our_balance || ', and the ERP reported no balance for it' as problem
from {{ ref('rpt_balance_reconciliation') }} as b
inner join reported as r on b.company_id = r.company_id and b.fiscal_year = r.fiscal_year
where not b.erp_reported and b.our_balance <> 0
union all
select a.company_id, a.source_system, a.fiscal_year, null as account_number, f.end_date as balance_date,
       null as our_balance, null as erp_balance, null as difference,
       'company ' || a.company_id || ' (' || a.source_system || '): the ERP reported no balances for fiscal year '
           || a.fiscal_year || ', which has ' || a.gl_lines || ' ledger lines' as problem
from activity as a
left join reported as r on a.company_id = r.company_id and a.fiscal_year = r.fiscal_year
left join {{ ref('dim_fiscal_period') }} as f on a.company_id = f.company_id and a.fiscal_year = f.fiscal_year
where r.company_id is null
