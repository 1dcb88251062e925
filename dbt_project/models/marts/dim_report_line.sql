select report_line_code, parent_code, statement, ordinal, level, line_type, label_fi, label_sv, label_en
from {{ ref('report_lines') }}
