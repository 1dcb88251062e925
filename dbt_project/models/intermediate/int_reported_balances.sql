-- The balances every configured ERP itself reports per account at each fiscal year's end.
{{ union_erp_models('account_balances') }}
