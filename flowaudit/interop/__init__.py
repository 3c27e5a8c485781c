"""Bringing an inventory in and taking it out (SPEC §5): fideslang manifests and record-of-
processing workbooks in; W3C DPV JSON-LD, fideslang, GraphML, CSV and Parquet out; the report
tables as pandas DataFrames for notebooks."""
