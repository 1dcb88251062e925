"""Dagster assets and checks: extraction per endpoint, the dbt models, and the publish step."""

import warnings

import dagster as dg

# Single-run backfills are how every partitioned asset here runs; Dagster still labels the parameter beta.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
