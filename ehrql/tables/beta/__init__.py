"""Aliases kept so studies written against the older `ehrql.tables.beta` modules still run.

Each module here re-exports the table module of the same name.
"""
