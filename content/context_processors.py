from typing import Any

from django.conf import settings
from django.http import HttpRequest


def seller_identity() -> dict[str, str]:
    """The seller as settings name it (SELLER_*): footer, contact page, invoice."""
    return {
        "name": settings.SELLER_NAME,
        "address": settings.SELLER_ADDRESS,
        "email": settings.SELLER_EMAIL,
        "phone": settings.SELLER_PHONE,
        "tax_id": settings.SELLER_TAX_ID,
        "whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
    }


def shop(request: HttpRequest) -> dict[str, Any]:
    return {"seller": seller_identity()}
