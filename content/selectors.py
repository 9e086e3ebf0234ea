from django.db.models import QuerySet

from content.models import FaqItem, ShopPage


def shop_page(*, slug: str) -> ShopPage | None:
    return ShopPage.objects.filter(slug=slug).first()


def faq_published() -> QuerySet[FaqItem]:
    return FaqItem.objects.filter(is_published=True).order_by("position", "pk")
