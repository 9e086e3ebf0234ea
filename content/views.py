"""The shop pages (contact, terms, privacy, refund): texts from the admin, rendered safely."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from content import selectors


@require_GET
def shop_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = selectors.shop_page(slug=slug)
    if page is None:
        raise Http404
    return render(request, "content/page.html", {"page": page})
