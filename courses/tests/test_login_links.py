"""A login link per channel: the success email and the success WhatsApp each carry their own
single-use link, so using one never kills the other."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from courses.models import LoginLink
from courses.services import magic_link_consume, magic_link_token
from notifications.models import Channel, NotificationOutbox, Template
from orders.tests.lifecycle import paid_order

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def success_links(order) -> dict[str, str]:
    rows = NotificationOutbox.objects.filter(
        order=order, template_name=Template.PAYMENT_SUCCESS_ACCESS
    )
    return {row.channel: row.context["login_url"].split("8000", 1)[-1] for row in rows}


def test_email_and_whatsapp_carry_different_links():
    order = paid_order(customer_email="budi@example.com")
    links = success_links(order)
    assert set(links) == {Channel.EMAIL, Channel.WHATSAPP}
    assert links[Channel.EMAIL] != links[Channel.WHATSAPP]
    assert set(LoginLink.objects.values_list("channel", flat=True)) == {"EMAIL", "WHATSAPP"}


def test_both_links_work_once_each_in_separate_clients():
    order = paid_order(customer_email="budi@example.com")
    links = success_links(order)
    phone, laptop = Client(), Client()

    assert phone.post(links[Channel.WHATSAPP]).status_code == 302
    assert "_auth_user_id" in phone.session
    # The email's link on the laptop still works after the WhatsApp one was used.
    page = laptop.get(links[Channel.EMAIL])
    assert page.status_code == 200 and "Masuk sekarang" in page.content.decode()
    assert laptop.post(links[Channel.EMAIL]).status_code == 302
    assert "_auth_user_id" in laptop.session

    # Each is single-use: a second use gives the clear page with "kirim link baru".
    again = Client().post(links[Channel.WHATSAPP])
    assert again.status_code == 410
    assert "Kirim link masuk baru" in again.content.decode()


def test_the_database_holds_only_a_hash_of_the_token():
    user = User.objects.create_user("sari@example.com", email="sari@example.com")
    token = magic_link_token(user=user)
    link = LoginLink.objects.get()
    assert token not in link.token_hash and len(link.token_hash) == 64


def test_a_used_link_cannot_be_consumed_twice():
    from courses.services import MagicLinkInvalid

    user = User.objects.create_user("sari@example.com", email="sari@example.com")
    token = magic_link_token(user=user)
    assert magic_link_consume(token=token).pk == user.pk
    with pytest.raises(MagicLinkInvalid):
        magic_link_consume(token=token)


@pytest.mark.parametrize("token", ["x", "\x00", "a" * 300])
def test_garbage_tokens_are_410_not_500(client, token):
    assert client.post(f"/login/{token}/").status_code in (404, 410)
