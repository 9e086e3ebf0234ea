from typing import Any

from content import defaults


def shop_texts_seed(*, page_model: Any = None, faq_model: Any = None) -> dict[str, int]:
    """Create the shop pages and FAQ from `content.defaults` where missing; never overwrites an
    editor's text. Used by the data migration (historical models) and by `seed_catalog`."""
    from content.models import FaqItem, ShopPage

    pages = page_model or ShopPage
    faq = faq_model or FaqItem
    for slug, (title, body) in defaults.PAGES.items():
        pages.objects.get_or_create(slug=slug, defaults={"title": title, "body": body})
    if not faq.objects.exists():
        for position, (question, answer) in enumerate(defaults.FAQ, start=1):
            faq.objects.create(question=question, answer=answer, position=position)
    return {"pages": pages.objects.count(), "faq": faq.objects.count()}
