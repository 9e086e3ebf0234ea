"""The customer account for an email under concurrent first purchases on PostgreSQL: no
savepoint, no IntegrityError, one account (`customer_get_or_create`'s upsert path)."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from buatfilm.testing import run_concurrently
from courses.services import customer_get_or_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_concurrent_first_purchases_share_one_account():
    def in_a_transaction():
        with transaction.atomic():  # as in the settlement: a failure would roll it all back
            return customer_get_or_create(email="Baru@Example.com").pk

    results = run_concurrently([in_a_transaction for _ in range(8)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    account = User.objects.get()
    assert (account.pk, account.username, account.has_usable_password()) == (
        results[0],
        "baru@example.com",
        False,
    )
