"""Fixtures every orders test module used to declare itself."""

import pytest
from django.core.cache import cache

from courses.tests.factories import PackageFactory


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """Rate-limit counters live in the cache; no test inherits another's."""
    cache.clear()


@pytest.fixture
def package():
    return PackageFactory(code="pro", name="Paket Pro", price=499_000)
