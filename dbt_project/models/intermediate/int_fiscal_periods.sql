-- Every configured ERP's fiscal years with their real start and end dates.
{{ union_erp_models('periods') }}
