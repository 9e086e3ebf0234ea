"""Normalisation and validation of checkout input, shared by the HTML form and the JSON API.

Each function takes what the customer typed and returns the value we store, or raises
`django.core.exceptions.ValidationError` with an Indonesian message for that field. The form
and the DRF serializer both call these, so a rule lives in exactly one place.
"""

import re
import secrets

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

NAME_MIN_LENGTH = 3
NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254
PROMO_MAX_LENGTH = 40

# Letters of any script (Budi, Siti Nurhaliza, Ni Komang Ayu, José) plus the punctuation real
# names use: dot (Moh.), comma (S.Kom), apostrophe (Ma'ruf, also the typographic one) and dash.
# It must start with a letter.
_NAME_ALLOWED = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .,'\u2019-])*$")
_PHONE_SEPARATORS = re.compile(r"[\s\-.()]")
_PROMO_ALLOWED = re.compile(r"^[A-Z0-9_-]+$")
# One-time form tokens and API Idempotency-Keys: printable, no spaces, bounded.
_TOKEN_ALLOWED = re.compile(r"^[A-Za-z0-9_\-:.]{16,100}$")

_email_validator = EmailValidator(message="Masukkan alamat email yang valid, mis. budi@gmail.com.")


def normalize_name(value: str) -> str:
    """Trim, collapse inner whitespace, then require 3-100 characters of letters, spaces and
    . , ' -, starting with a letter."""
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError("Nama wajib diisi.", code="required")
    if len(name) < NAME_MIN_LENGTH:
        raise ValidationError(
            f"Nama terlalu pendek: minimal {NAME_MIN_LENGTH} karakter.", code="min_length"
        )
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"Nama terlalu panjang: maksimal {NAME_MAX_LENGTH} karakter.", code="max_length"
        )
    if not _NAME_ALLOWED.match(name):
        raise ValidationError(
            "Nama hanya boleh berisi huruf, spasi, dan tanda baca . , ' -",
            code="invalid_characters",
        )
    return name


def normalize_email(value: str) -> str:
    """Trimmed, lowercased, syntactically valid email of at most 254 characters."""
    email = (value or "").strip().lower()
    if not email:
        raise ValidationError("Email wajib diisi.", code="required")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError("Alamat email terlalu panjang.", code="max_length")
    _email_validator(email)
    return email


def normalize_phone(value: str) -> str:
    """An Indonesian mobile number in E.164 (`+628…`).

    Accepts `08…`, `628…` and `+628…`, with spaces, dashes, dots or brackets between digits.
    Rejects landlines (e.g. `021…`), numbers of other countries and anything `phonenumbers`
    does not consider a valid number."""
    raw = _PHONE_SEPARATORS.sub("", value or "")
    if not raw:
        raise ValidationError("Nomor WhatsApp wajib diisi.", code="required")
    if raw.startswith("62"):
        raw = "+" + raw
    if not (raw.startswith("+") or raw.startswith("0")) or not raw[1:].isdigit():
        raise ValidationError(
            "Gunakan format nomor Indonesia: 08…, 628…, atau +628….", code="invalid_format"
        )
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "Nomor WhatsApp tidak valid. Contoh: 0812 3456 7890.", code="invalid"
        ) from exc
    if phonenumbers.region_code_for_number(number) != "ID":
        raise ValidationError(
            "Gunakan nomor Indonesia (+62). Nomor luar negeri belum bisa dipakai.",
            code="not_indonesian",
        )
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("Nomor WhatsApp tidak valid. Contoh: 0812 3456 7890.", code="invalid")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            "Gunakan nomor HP (WhatsApp), bukan nomor telepon rumah/kantor.", code="not_mobile"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_promo_code(value: str) -> str:
    """Optional promo code: trimmed and uppercased ("" when none was typed). Whether the code
    exists and applies is the checkout service's decision, not a format rule."""
    code = (value or "").strip().upper()
    if not code:
        return ""
    if len(code) > PROMO_MAX_LENGTH or not _PROMO_ALLOWED.match(code):
        raise ValidationError("Kode promo tidak ditemukan.", code="promo_not_found")
    return code


def new_form_token() -> str:
    """A one-time checkout form token (192 random bits)."""
    return secrets.token_urlsafe(24)


def validate_idempotency_token(value: str) -> str:
    """A form token or API Idempotency-Key: 16-100 characters of A-Z a-z 0-9 _ - : ."""
    token = (value or "").strip()
    if not _TOKEN_ALLOWED.match(token):
        raise ValidationError(
            "Kunci idempoten tidak valid: 16-100 karakter A-Z, a-z, 0-9, _ - : .",
            code="invalid_idempotency_key",
        )
    return token
