"""Extraction: one partitioned asset per endpoint of each registered ERP spec, built by one factory."""
