"""The payment path's tables carry no index nothing reads (issue 16): every index is written on
each insert and on each update that is not HOT."""

import importlib

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

migration = importlib.import_module("orders.migrations.0007_drop_pattern_ops_indexes")


def test_no_pattern_ops_copy_of_an_index_on_the_payment_path():
    """Django adds a `varchar_pattern_ops` index beside each indexed CharField on PostgreSQL;
    migration 0007 drops them, and a later AlterField would bring one back (this says so)."""
    if connection.vendor != "postgresql":
        pytest.skip("Django adds these on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(migration.PATTERN_OPS_INDEXES, [list(migration.TABLES)])
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'orders_order'::regclass")
        assert cursor.fetchone()[0] >= 10  # the other indexes are all still there
