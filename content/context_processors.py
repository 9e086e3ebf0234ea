from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shop(request: HttpRequest) -> dict[str, Any]:
    """The seller's identity for every page (footer, contact page, invoice)."""
    return {
        "seller": {
            "name": settings.SELLER_NAME,
            "address": settings.SELLER_ADDRESS,
            "email": settings.SELLER_EMAIL,
            "phone": settings.SELLER_PHONE,
            "tax_id": settings.SELLER_TAX_ID,
            "whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
        }
    }
