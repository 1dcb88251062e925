select schema_variant, report_line_code, nullif(parent_code, '') as parent_code, statement, ordinal, level,
       line_type, nullif(includes_result, '') as includes_result, label_fi, label_sv, label_en, decree_ref, print_rule
from {{ ref('report_lines') }}
