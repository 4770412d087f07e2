"""Declarations of the raw tables each data provider holds: names and column types.

These describe the provider's database, not anything researchers see. Backend
mappings select from them, and tests create them in DuckDB to run mappings.
"""
