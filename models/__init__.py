"""The data layer: peewee models, database setup, migrations and the audit chain.

Importable without Textual so that the CLI, scripts and tests can use it on its own.
"""
