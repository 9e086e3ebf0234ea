"""What is sold (Course, Package), what it contains (Lesson) and who may see it (Entitlement)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from courses.video import validate_lesson_video_url


class Course(models.Model):
    slug = models.SlugField(verbose_name="slug", unique=True)
    title = models.CharField(verbose_name="judul", max_length=200)
    tagline = models.CharField(verbose_name="tagline", max_length=300, blank=True)
    description = models.TextField(verbose_name="deskripsi", blank=True)
    is_active = models.BooleanField(verbose_name="aktif", default=True)
    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True)

    class Meta:
        verbose_name = "kursus"
        verbose_name_plural = "kursus"
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Package(models.Model):
    """A purchasable offer of a course. Orders snapshot its price; editing it never moves them."""

    code = models.SlugField(verbose_name="kode", max_length=40, unique=True)
    course = models.ForeignKey(
        Course, verbose_name="kursus", on_delete=models.PROTECT, related_name="packages"
    )
    name = models.CharField(verbose_name="nama", max_length=120)
    description = models.TextField(verbose_name="deskripsi", blank=True)
    features = models.JSONField(verbose_name="fitur", default=list, blank=True)
    price = models.PositiveIntegerField(
        verbose_name="harga", help_text="Harga dalam rupiah (bilangan bulat)."
    )
    is_active = models.BooleanField(verbose_name="aktif", default=True)
    sort_order = models.PositiveSmallIntegerField(verbose_name="urutan", default=0)

    class Meta:
        verbose_name = "paket"
        verbose_name_plural = "paket"
        ordering = ["sort_order", "price"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="package_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Lesson(models.Model):
    course = models.ForeignKey(
        Course, verbose_name="kursus", on_delete=models.CASCADE, related_name="lessons"
    )
    slug = models.SlugField(verbose_name="slug")
    title = models.CharField(verbose_name="judul", max_length=200)
    summary = models.CharField(verbose_name="ringkasan", max_length=300, blank=True)
    body = models.TextField(
        verbose_name="isi", blank=True, help_text="Markdown: ## judul, **tebal**, - daftar."
    )
    video_url = models.URLField(
        verbose_name="URL video",
        blank=True,
        validators=[validate_lesson_video_url],
        help_text="YouTube, Vimeo, Bunny Stream, atau file video https (.mp4/.webm).",
    )
    duration_minutes = models.PositiveSmallIntegerField(
        verbose_name="durasi (menit)",
        default=0,
        help_text="Perkiraan durasi video (menit); tampil di silabus halaman utama.",
    )
    position = models.PositiveSmallIntegerField(verbose_name="urutan", default=0)

    class Meta:
        verbose_name = "pelajaran"
        verbose_name_plural = "pelajaran"
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="lesson_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.title


class Entitlement(models.Model):
    """Access to a course, created only by the order state machine when an order becomes PAID."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Aktif"
        SUSPENDED = "SUSPENDED", "Ditangguhkan"
        REVOKED = "REVOKED", "Dicabut"

    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        related_name="entitlement",
        verbose_name="order",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="entitlements",
        verbose_name="pengguna",
    )
    course = models.ForeignKey(
        Course, verbose_name="kursus", on_delete=models.PROTECT, related_name="entitlements"
    )
    status = models.CharField(
        verbose_name="status", max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    granted_at = models.DateTimeField(verbose_name="diberikan")
    revoked_at = models.DateTimeField(verbose_name="dicabut", null=True, blank=True)
    expires_at = models.DateTimeField(
        verbose_name="berakhir", null=True, blank=True, help_text="Kosong = seumur hidup."
    )
    last_accessed_at = models.DateTimeField(verbose_name="terakhir dibuka", null=True, blank=True)

    class Meta:
        verbose_name = "akses kursus"
        verbose_name_plural = "akses kursus"
        ordering = ["-granted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["ACTIVE", "SUSPENDED", "REVOKED"]),
                name="entitlement_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["user", "course", "status"], name="entitlement_access")]

    def __str__(self) -> str:
        return f"{self.course} untuk {self.user} ({self.status})"


class LoginLink(models.Model):
    """One single-use, time-limited login link, issued for one channel (the success email and
    the success WhatsApp each get their own, so using one never kills the other). Only the
    SHA-256 of the token is stored: the database alone opens no account."""

    class Channel(models.TextChoices):
        EMAIL = "EMAIL", "Email"
        WHATSAPP = "WHATSAPP", "WhatsApp"

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_links"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"], name="loginlink_expires")]

    def __str__(self) -> str:
        return f"login link {self.pk} ({self.channel})"


class LessonProgress(models.Model):
    """A learner marked a lesson done. No row = not done; unmarking deletes the row."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    completed_at = models.DateTimeField()

    class Meta:
        verbose_name = "kemajuan belajar"
        verbose_name_plural = "kemajuan belajar"
        ordering = ["-completed_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="lesson_progress_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} selesai {self.lesson}"
