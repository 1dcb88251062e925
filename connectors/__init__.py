"""Plain-Python API clients for the ERPs and the bank aggregator; usable without Dagster."""
