"""companies.yaml accepts exactly the chart templates the seeds define (connectors.companies.CHART_TEMPLATES).

The tuple is what load_companies checks against (connectors stay free of the dbt project's files); this
test keeps it and the seeds in step. A template is only usable with rows in both seeds: account_classes
decides BS/PL, report_line_ranges maps the accounts to statutory lines.
"""

import csv
from typing import get_args

import pytest

from connectors.companies import CHART_TEMPLATES, ReportSchema
from tests.conftest import ROOT

SEEDS = ROOT / "dbt_project" / "seeds"


@pytest.mark.parametrize("seed", ["account_classes.csv", "report_line_ranges.csv"])
def test_the_seeds_define_exactly_the_known_chart_templates(seed):
    with (SEEDS / seed).open(newline="", encoding="utf-8") as handle:
        templates = {row["chart_template"] for row in csv.DictReader(handle)}
    assert templates == set(CHART_TEMPLATES), (
        f"dbt_project/seeds/{seed} defines chart templates {sorted(templates)}; "
        f"connectors/companies.py CHART_TEMPLATES lists {sorted(CHART_TEMPLATES)}: make them agree"
    )


def test_companies_yaml_accepts_exactly_the_statement_forms_the_seeds_define():
    with (SEEDS / "report_lines.csv").open(newline="", encoding="utf-8") as handle:
        variants = {row["schema_variant"] for row in csv.DictReader(handle)}
    assert variants == set(get_args(ReportSchema)), (
        f"dbt_project/seeds/report_lines.csv defines forms {sorted(variants)}; connectors/companies.py "
        f"ReportSchema lists {sorted(get_args(ReportSchema))}: make them agree"
    )
