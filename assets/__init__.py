"""Dagster assets and checks: extraction per endpoint, the dbt models, and the publish step."""
