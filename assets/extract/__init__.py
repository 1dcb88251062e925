"""Extraction: one partitioned asset per endpoint, built by one factory from per-source catalogues."""
