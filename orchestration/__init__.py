"""Dagster wiring: settings, companies, partitions, resources, jobs, schedules and definitions."""
