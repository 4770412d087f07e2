"""Raw schemas: tables kept close to the backend's own data, for data development.

They apply little or no cleaning (several rows per patient where the main
schemas keep one, original values where the main schemas null out unexpected
ones), so prefer `ehrql.tables.core` and the backend schemas for research.
"""
