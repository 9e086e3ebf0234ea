from datetime import datetime

from django import template

from buatfilm import formatting

register = template.Library()


@register.filter
def rupiah(amount: int) -> str:
    return formatting.rupiah(amount)


@register.filter
def wib(moment: datetime | None) -> str:
    return formatting.wib(moment)


@register.filter
def mask_email(email: str) -> str:
    return formatting.mask_email(email)


@register.filter
def mask_phone(phone: str) -> str:
    return formatting.mask_phone(phone)
