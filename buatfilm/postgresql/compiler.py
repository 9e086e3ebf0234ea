"""The backend's compilers, with a bulk insert of a few rows as a VALUES list."""

from typing import Any

from django.db.backends.postgresql import compiler as postgresql
from django.db.models.sql import compiler as generic

__all__ = [
    "SQLAggregateCompiler",
    "SQLCompiler",
    "SQLDeleteCompiler",
    "SQLInsertCompiler",
    "SQLUpdateCompiler",
]

SQLAggregateCompiler = postgresql.SQLAggregateCompiler
SQLCompiler = postgresql.SQLCompiler
SQLDeleteCompiler = postgresql.SQLDeleteCompiler
SQLUpdateCompiler = postgresql.SQLUpdateCompiler

# Rows up to which a bulk insert is a VALUES list (see buatfilm/postgresql/__init__.py).
VALUES_MAX_ROWS = 100


class SQLInsertCompiler(postgresql.SQLInsertCompiler):
    def assemble_as_sql(self, fields: Any, value_rows: Any) -> Any:
        if len(value_rows) <= VALUES_MAX_ROWS:
            return generic.SQLInsertCompiler.assemble_as_sql(self, fields, value_rows)
        return super().assemble_as_sql(fields, value_rows)
