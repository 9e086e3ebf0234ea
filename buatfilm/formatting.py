"""How money, times and customer data are shown to people (Indonesian conventions)."""

from datetime import datetime
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def rupiah(amount: int) -> str:
    """499000 -> 'Rp 499.000' (dot as thousands separator, no decimals)."""
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def wib(moment: datetime | None) -> str:
    """A UTC datetime shown in Jakarta time: '24 Nov 2026 14:05 WIB'."""
    if moment is None:
        return ""
    months = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
    local = moment.astimezone(WIB)
    return f"{local.day} {months[local.month - 1]} {local.year} {local:%H:%M} WIB"


def mask_email(email: str) -> str:
    """'budi@gmail.com' -> 'b***i@gmail.com'; short local parts keep only the first letter."""
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    if len(local) <= 2:
        return f"{local[:1]}***@{domain}"
    return f"{local[0]}***{local[-1]}@{domain}"


def mask_phone(phone: str) -> str:
    """'+6281234567789' -> '+62812****789': country code + 3 digits, last 3 digits."""
    if len(phone) < 9:
        return "****"
    return f"{phone[:6]}****{phone[-3:]}"
