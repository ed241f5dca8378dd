"""The pure rules of kyusho: money, dates, the ledger, the limitation clock and the rest.

Nothing in this package touches the database, the terminal or the services (import-linter
contracts in pyproject.toml keep it so): every rule can be checked alone, from the worked
examples, and serves SQLite and PostgreSQL alike.
"""
