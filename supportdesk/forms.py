"""Forms of the support desk's intermediate pages."""

import re
from typing import Any

from django import forms
from django.db.models import QuerySet

from courses.models import Package
from notifications.models import NotificationOutbox
from orders.checkout import promo_floor_problem
from orders.models import PromoCode

_PROMO_CODE = re.compile(r"[A-Z0-9_-]{2,40}")


def candidate_label(row: NotificationOutbox) -> str:
    # Staff see the full recipient: checking the address is often the point of a resend.
    return (
        f"{row.get_template_name_display()} · {row.get_channel_display()} → {row.recipient} "
        f"(status: {row.get_status_display()})"
    )


class ResendNotificationForm(forms.Form):
    """Pick one of the order's automatic messages (a template on a channel) to send again."""

    original = forms.TypedChoiceField(
        label="Pesan yang dikirim ulang",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Pilih pesan yang akan dikirim ulang.",
            "invalid_choice": "Pesan itu bukan milik order ini atau tidak bisa dikirim ulang.",
        },
    )

    def __init__(self, *args: object, candidates: QuerySet[NotificationOutbox], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["original"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(row.pk, candidate_label(row)) for row in candidates]


class OfflineRefundForm(forms.Form):
    """A refund done outside Midtrans: how much went back, the bank reference, and why."""

    amount = forms.IntegerField(
        label="Jumlah dikembalikan (Rp)",
        min_value=1,
        help_text="Harus sama dengan yang dibayar pelanggan; refund sebagian tidak mengubah order.",
    )
    reference = forms.CharField(
        label="Nomor referensi transfer", max_length=100, help_text="Dari bukti transfer bank."
    )
    reason = forms.CharField(
        label="Alasan", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    confirm = forms.BooleanField(
        label=(
            "Saya paham: order menjadi REFUNDED, akses kursus dicabut, dan pelanggan diberi tahu."
        ),
        error_messages={"required": "Centang konfirmasi dulu."},
    )


class PromoCodeAdminForm(forms.ModelForm):
    """Promo codes are stored upper case (checkout matches them case-insensitively) and made of
    letters, digits, `-` and `_`, so a customer can type them."""

    class Meta:
        model = PromoCode
        # `used_count` is counted by checkout under a row lock: never a form field.
        fields = (
            "code",
            "kind",
            "value",
            "packages",
            "valid_from",
            "valid_until",
            "max_uses",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, value = cleaned.get("kind"), cleaned.get("value")
        if kind and value:
            packages = cleaned.get("packages")
            chosen = list(packages) if packages else list(Package.objects.all())
            problem = promo_floor_problem(
                kind=kind, value=int(value), prices=[package.price for package in chosen]
            )
            if problem:
                self.add_error("value", problem)
        return cleaned

    def clean_max_uses(self) -> int | None:
        # `used_count` is not a form field, so Django skips the constraint that ties the two:
        # without this check a lowered limit reached the database as an IntegrityError (500).
        max_uses: int | None = self.cleaned_data.get("max_uses")
        used = self.instance.used_count if self.instance.pk else 0
        if max_uses is not None and max_uses < used:
            raise forms.ValidationError(
                f"Kode ini sudah dipakai {used} kali: batas pemakaian tidak bisa di bawah {used}. "
                "Untuk menghentikannya, hilangkan centang Aktif."
            )
        return max_uses

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip().upper()
        if not _PROMO_CODE.fullmatch(code):
            raise forms.ValidationError(
                "Gunakan huruf, angka, tanda minus atau garis bawah saja, tanpa spasi."
            )
        return code


class StaffCancelForm(forms.Form):
    """Why support cancels an order for a customer (kept in the audit trail)."""

    reason = forms.CharField(
        label="Alasan pembatalan",
        max_length=200,
        help_text="Mis. 'Pelanggan minta batal lewat WhatsApp, salah pilih paket'. Disimpan di "
        "jejak audit bersama nama Anda.",
        error_messages={"required": "Tulis alasan pembatalan."},
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )
