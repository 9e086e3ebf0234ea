"""The customer account for an email under concurrent first purchases on PostgreSQL: no
savepoint, no IntegrityError, one account (`customer_get_or_create`'s upsert path, and
`customer_account_id`, the settlement's)."""

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from buatfilm.testing import run_concurrently
from courses.services import customer_account_id, customer_get_or_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACCOUNT_IDS = {
    "customer_get_or_create": lambda email: customer_get_or_create(email=email).pk,
    "customer_account_id": lambda email: customer_account_id(email=email),
}


@pytest.mark.parametrize("account_id", ACCOUNT_IDS.values(), ids=ACCOUNT_IDS.keys())
def test_eight_concurrent_first_purchases_share_one_account(account_id):
    def in_a_transaction():
        with transaction.atomic():  # as in the settlement: a failure would roll it all back
            return account_id("Baru@Example.com")

    results = run_concurrently([in_a_transaction for _ in range(8)])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    account = User.objects.get()
    assert (account.pk, account.username, account.has_usable_password()) == (
        results[0],
        "baru@example.com",
        False,
    )
