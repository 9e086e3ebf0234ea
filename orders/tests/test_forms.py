"""Checkout input rules (`orders.validators`) as the form applies them: every field."""

import pytest

from orders.forms import CheckoutForm
from orders.models import PaymentMethod

TOKEN = "tok_" + "a" * 28

VALID = {
    "name": "Budi Santoso",
    "email": "budi@example.com",
    "phone": "081234567890",
    "payment_method": "bca_va",
    "promo_code": "",
    "form_token": TOKEN,
}


def form_with(**changes) -> CheckoutForm:
    return CheckoutForm(data=VALID | changes)


def errors_of(field: str, **changes) -> list[str]:
    form = form_with(**changes)
    assert not form.is_valid()
    return form.errors[field]


def test_a_valid_form_is_normalised():
    form = form_with(name="  budi   santoso ", email=" Budi@Example.COM ", promo_code=" hemat10 ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "budi santoso"
    assert form.cleaned_data["email"] == "budi@example.com"
    assert form.cleaned_data["phone"] == "+6281234567890"
    assert form.cleaned_data["promo_code"] == "HEMAT10"
    assert form.idempotency_key == f"form:{TOKEN}"


# --- name ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Ani", "Siti Nurhaliza", "Ma'ruf Amin", "Moh. Hatta, S.Kom", "Ni-Komang Ayu", "José Ñúñez"],
)
def test_names_with_letters_spaces_and_common_punctuation_pass(name):
    assert form_with(name=name).is_valid()


def test_name_is_required():
    assert errors_of("name", name="") == ["Nama wajib diisi."]
    assert errors_of("name", name="    ") == ["Nama wajib diisi."]


def test_name_too_short():
    assert errors_of("name", name="Bu") == ["Nama terlalu pendek: minimal 3 karakter."]
    # Length is measured after trimming and collapsing spaces.
    assert errors_of("name", name="  Bu   ") == ["Nama terlalu pendek: minimal 3 karakter."]


def test_name_too_long():
    assert form_with(name="A" * 100).is_valid()
    assert errors_of("name", name="A" * 101) == ["Nama terlalu panjang: maksimal 100 karakter."]


@pytest.mark.parametrize(
    "name", ["Budi123", "Budi_Santoso", "Budi!", "<script>", "Budi@home", "..."]
)
def test_names_with_digits_or_symbols_are_rejected(name):
    assert errors_of("name", name=name) == [
        "Nama hanya boleh berisi huruf, spasi, dan tanda baca . , ' -"
    ]


# --- email --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email", ["budi", "budi@", "@example.com", "budi@example", "budi @example.com", "a@b@c.com"]
)
def test_bad_emails_are_rejected(email):
    assert errors_of("email", email=email) == [
        "Masukkan alamat email yang valid, mis. budi@gmail.com."
    ]


def test_email_is_required_and_bounded():
    assert errors_of("email", email="") == ["Email wajib diisi."]
    assert errors_of("email", email="a" * 250 + "@example.com") == ["Alamat email terlalu panjang."]


# --- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "081234567890",
        "6281234567890",
        "+6281234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "+62 812-3456-7890",
        "(0812) 3456.7890",
    ],
)
def test_indonesian_mobile_numbers_in_every_accepted_form_normalise_to_e164(phone):
    form = form_with(phone=phone)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+6281234567890"


def test_landline_numbers_are_rejected():
    assert errors_of("phone", phone="0215551234") == [
        "Gunakan nomor HP (WhatsApp), bukan nomor telepon rumah/kantor."
    ]


@pytest.mark.parametrize("phone", ["+6591234567", "+14155552671", "+447911123456"])
def test_foreign_numbers_are_rejected(phone):
    assert errors_of("phone", phone=phone) == [
        "Gunakan nomor Indonesia (+62). Nomor luar negeri belum bisa dipakai."
    ]


@pytest.mark.parametrize("phone", ["08123", "0812345678901234", "0899"])
def test_invalid_numbers_are_rejected(phone):
    assert errors_of("phone", phone=phone) == [
        "Nomor WhatsApp tidak valid. Contoh: 0812 3456 7890."
    ]


@pytest.mark.parametrize("phone", ["81234567890", "abc", "08l2345678"])
def test_numbers_not_in_an_accepted_format_are_rejected(phone):
    assert errors_of("phone", phone=phone) == [
        "Gunakan format nomor Indonesia: 08…, 628…, atau +628…."
    ]


def test_phone_is_required():
    assert errors_of("phone", phone="") == ["Nomor WhatsApp wajib diisi."]


# --- payment method and promo ------------------------------------------------------------


@pytest.mark.parametrize("method", PaymentMethod.values)
def test_every_payment_method_is_accepted(method):
    assert form_with(payment_method=method).is_valid()


@pytest.mark.parametrize("method", ["mandiri_va", "credit_card", "BCA_VA"])
def test_unknown_payment_methods_are_rejected(method):
    assert errors_of("payment_method", payment_method=method) == [
        "Pilih salah satu metode pembayaran yang tersedia."
    ]


def test_payment_method_is_required():
    assert errors_of("payment_method", payment_method="") == ["Pilih metode pembayaran."]


def test_promo_code_is_optional_but_must_look_like_a_code():
    assert form_with(promo_code="").is_valid()
    assert errors_of("promo_code", promo_code="DISKON 50%") == ["Kode promo tidak ditemukan."]


# --- form token and accessibility ---------------------------------------------------------


def test_a_new_form_gets_a_random_one_time_token():
    first, second = CheckoutForm(), CheckoutForm()
    assert len(first.token) >= 32
    assert first.token != second.token


def test_a_missing_or_malformed_token_is_an_error_and_a_fresh_token_is_issued():
    form = form_with(form_token="")
    assert not form.is_valid()
    assert form.errors["form_token"] == [
        "Formulir ini sudah kedaluwarsa. Periksa datamu lalu kirim ulang."
    ]
    assert len(form.token) >= 32
    assert not form_with(form_token="short").is_valid()
    assert not form_with(form_token="x" * 20 + " spaces here").is_valid()


def test_a_resubmitted_form_keeps_its_token():
    form = form_with(name="B")
    assert not form.is_valid()
    assert form.token == TOKEN


def test_invalid_fields_are_marked_for_assistive_technology():
    form = form_with(name="B", email="nope")
    assert not form.is_valid()
    html = str(form["name"])
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_name_help id_name_error"' in html
    assert 'aria-invalid="true"' in str(form["email"])
    assert "aria-invalid" not in str(form["phone"])
    assert 'aria-describedby="id_phone_help"' in str(form["phone"])
