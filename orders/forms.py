"""The checkout form. Rules live in `orders.validators` (shared with the API); this module only
maps them onto fields and makes errors accessible (aria-invalid, aria-describedby)."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orders import validators
from orders.models import PaymentMethod

PAYMENT_METHOD_HELP = {
    PaymentMethod.BCA_VA: "Transfer lewat ATM, m-BCA, atau KlikBCA.",
    PaymentMethod.BNI_VA: "Transfer lewat ATM, BNI Mobile, atau internet banking.",
    PaymentMethod.MANDIRI_BILL: "Bayar lewat Livin' by Mandiri atau ATM Mandiri.",
    PaymentMethod.GOPAY: "Bayar di aplikasi Gojek/GoPay.",
    PaymentMethod.SHOPEEPAY: "Bayar di aplikasi Shopee.",
    PaymentMethod.DANA: "Bayar di aplikasi DANA.",
    PaymentMethod.QRIS: "Pindai kode QR dengan aplikasi bank atau e-wallet apa pun.",
}


class CheckoutForm(forms.Form):
    """Name, email, WhatsApp number, payment method, optional promo code and the hidden
    one-time `form_token` that makes a repeated submit return the first order."""

    name = forms.CharField(
        label="Nama lengkap",
        max_length=200,
        help_text="Nama ini tercantum di kuitansi.",
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words"}),
        error_messages={"required": "Nama wajib diisi."},
    )
    email = forms.CharField(
        label="Email",
        max_length=300,
        help_text="Link masuk kursus dikirim ke email ini.",
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "inputmode": "email", "spellcheck": "false"}
        ),
        error_messages={"required": "Email wajib diisi."},
    )
    phone = forms.CharField(
        label="Nomor WhatsApp",
        max_length=30,
        help_text="Nomor HP Indonesia, mis. 0812 3456 7890. Instruksi bayar dikirim ke sini.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"required": "Nomor WhatsApp wajib diisi."},
    )
    payment_method = forms.ChoiceField(
        label="Metode pembayaran",
        choices=PaymentMethod.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Pilih metode pembayaran.",
            "invalid_choice": "Pilih salah satu metode pembayaran yang tersedia.",
        },
    )
    promo_code = forms.CharField(
        label="Kode promo (opsional)",
        max_length=60,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    form_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Used when the form is new, or when a submitted token was missing or malformed.
        self.initial.setdefault("form_token", validators.new_form_token())
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    @property
    def token(self) -> str:
        """The one-time token to render: the submitted one (still unused if we are
        re-rendering errors), or a fresh one."""
        if self.is_bound and getattr(self, "cleaned_data", {}).get("form_token"):
            return str(self.cleaned_data["form_token"])
        return str(self.initial["form_token"])

    def clean_name(self) -> str:
        return validators.normalize_name(self.cleaned_data.get("name", ""))

    def clean_email(self) -> str:
        return validators.normalize_email(self.cleaned_data.get("email", ""))

    def clean_phone(self) -> str:
        return validators.normalize_phone(self.cleaned_data.get("phone", ""))

    def clean_promo_code(self) -> str:
        return validators.normalize_promo_code(self.cleaned_data.get("promo_code", ""))

    def clean_form_token(self) -> str:
        token = self.cleaned_data.get("form_token", "")
        try:
            return validators.validate_idempotency_token(token)
        except ValidationError as exc:
            # A missing/tampered token must not block a real customer: the re-rendered form
            # carries the fresh one from __init__.
            raise ValidationError(
                "Formulir ini sudah kedaluwarsa. Periksa datamu lalu kirim ulang.",
                code="form_token",
            ) from exc

    def add_error(self, field: str | None, error: Any) -> None:
        """Every error (field cleaning, or the checkout service's promo verdict) also marks
        its input: aria-invalid, and aria-describedby pointing at the help and error text."""
        super().add_error(field, error)
        for name in self.errors:
            if name not in self.fields:
                continue
            widget = self.fields[name].widget
            described = [f"id_{name}_error"]
            if self.fields[name].help_text:
                described.insert(0, f"id_{name}_help")
            widget.attrs["aria-describedby"] = " ".join(described)
            widget.attrs["aria-invalid"] = "true"

    @property
    def payment_options(self) -> list[tuple[Any, str]]:
        """(radio, explanation) pairs for the template."""
        return [
            (radio, PAYMENT_METHOD_HELP.get(radio.data["value"], ""))
            for radio in self["payment_method"]
        ]

    @property
    def idempotency_key(self) -> str:
        return f"form:{self.cleaned_data['form_token']}"
