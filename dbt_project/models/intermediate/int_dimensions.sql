-- Every configured ERP's dimension items, keyed as the ERP references them on ledger lines.
{{ union_erp_models('dimensions') }}
