{{ config(meta={'dagster': {'ref': {'name': 'rpt_distributable_equity'}}}) }}
-- Restricted equity, free equity and the other equity items (pääomavajaus, yksityistilit, pääomalainat)
-- add up to the balance sheet's total equity at every month end.
select
    company_id, month_end, restricted_equity, free_equity, other_equity, equity_total,
    'company ' || company_id || ' at ' || month_end || ': restricted ' || restricted_equity || ' + free '
    || free_equity || ' + other ' || other_equity || ' <> balance-sheet equity '
    || coalesce(cast(equity_total as varchar), 'none')
        as problem
from {{ ref('rpt_distributable_equity') }}
where restricted_equity + free_equity + other_equity is distinct from equity_total
