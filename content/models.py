"""Shop texts content editors change in the admin without a deploy: the pages a shop must have
(contact, terms, privacy, refund) and the landing page's FAQ. Bodies are Markdown, rendered
safely (`buatfilm.markup`)."""

from django.db import models


class ShopPage(models.Model):
    class Slug(models.TextChoices):
        KONTAK = "kontak", "Kontak"
        SYARAT = "syarat-ketentuan", "Syarat & ketentuan"
        PRIVASI = "kebijakan-privasi", "Kebijakan privasi"
        REFUND = "kebijakan-refund", "Kebijakan refund"

    slug = models.SlugField(max_length=40, unique=True, choices=Slug.choices)
    title = models.CharField(max_length=120)
    body = models.TextField(
        help_text="Markdown: **tebal**, *miring*, - daftar, [tautan](https://…)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "halaman toko"
        verbose_name_plural = "halaman toko"

    def __str__(self) -> str:
        return self.title


class FaqItem(models.Model):
    question = models.CharField(max_length=200)
    answer = models.TextField(help_text="Markdown.")
    position = models.PositiveSmallIntegerField(default=0)
    is_published = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "FAQ"
        verbose_name_plural = "FAQ"

    def __str__(self) -> str:
        return self.question
