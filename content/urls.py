from django.urls import path

from content import views
from content.models import ShopPage

app_name = "content"

S = ShopPage.Slug
urlpatterns = [
    path(f"{slug}/", views.shop_page, {"slug": slug}, name=slug.replace("-", "_"))
    for slug in (S.KONTAK, S.SYARAT, S.PRIVASI, S.REFUND)
]
