"""The customer account for an email under concurrent first purchases on PostgreSQL: no
savepoint, no IntegrityError, one account (`customer_account_id`'s upsert)."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from buatfilm.testing import run_concurrently
from courses.services import customer_account_id

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_concurrent_first_purchases_share_one_account():
    def in_a_transaction():
        with transaction.atomic():  # as in the settlement: a failure would roll it all back
            return customer_account_id(email="Baru@Example.com")

    results = run_concurrently([in_a_transaction for _ in range(8)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    account = User.objects.get()
    assert (account.pk, account.username, account.has_usable_password()) == (
        results[0],
        "baru@example.com",
        False,
    )
