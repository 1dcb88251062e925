-- Our closing balance equals the ERP's own reported balance for every account at every fiscal-year end.
select company_id, account_number, balance_date, our_balance, erp_balance, difference,
       'company ' || company_id || ', account ' || account_number || ' at ' || balance_date || ': ours '
           || our_balance || ', ERP ' || erp_balance as problem
from {{ ref('rpt_balance_reconciliation') }}
where erp_reported and difference <> 0
