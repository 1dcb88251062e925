-- Every configured ERP's posted voucher lines (opening-balance vouchers included) in one shape.
{{ union_erp_models('gl_lines') }}
