"""Course access: customer accounts and entitlements. Entitlements are granted and revoked only
from the order state machine (`orders.services.order_transition`), inside its transaction."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User as UserModel
from django.core import signing
from django.db import transaction
from django.urls import reverse

from courses.models import Entitlement
from orders.models import Order
from supportdesk.services import audit_record

User = get_user_model()


def customer_get_or_create(*, email: str) -> UserModel:
    """The customer account for an email (case-insensitive), created without a usable
    password: customers log in by magic link only. Safe under concurrent calls."""
    normalized = email.strip().lower()
    user, _ = User.objects.get_or_create(
        username=normalized[:150],
        defaults={"email": normalized, "password": make_password(None)},
    )
    return user


def entitlement_grant(*, order: Order, actor: str, now: datetime) -> Entitlement:
    """Create the one entitlement of a PAID order. The OneToOne on `order` makes a second grant
    impossible; the caller holds the order row lock, so this never races with itself."""
    user = customer_get_or_create(email=order.customer_email)
    entitlement = Entitlement.objects.create(
        order=order,
        user=user,
        course=order.package.course,
        status=Entitlement.Status.ACTIVE,
        granted_at=now,
    )
    audit_record(
        actor=actor,
        action="entitlement_granted",
        entity_type="entitlement",
        entity_id=str(entitlement.pk),
        new_value={"course": order.package.course.slug, "status": entitlement.status},
        correlation_id=order.order_id,
    )
    return entitlement


def entitlement_revoke(*, order: Order, actor: str, reason: str, now: datetime) -> None:
    """Revoke the entitlement of an order (refund). No entitlement: nothing to revoke."""
    entitlement = Entitlement.objects.select_for_update().filter(order=order).first()
    if entitlement is None or entitlement.status == Entitlement.Status.REVOKED:
        return
    old_status = entitlement.status
    entitlement.status = Entitlement.Status.REVOKED
    entitlement.revoked_at = now
    entitlement.save(update_fields=["status", "revoked_at"])
    audit_record(
        actor=actor,
        action="entitlement_revoked",
        entity_type="entitlement",
        entity_id=str(entitlement.pk),
        old_value={"status": old_status},
        new_value={"status": entitlement.status, "reason": reason},
        correlation_id=order.order_id,
    )


class MagicLinkInvalid(Exception):
    """The link was tampered with, or already used (logging in changes `last_login`)."""


class MagicLinkExpired(MagicLinkInvalid):
    """The link is genuine but older than MAGIC_LINK_MAX_AGE_HOURS."""


_MAGIC_LINK_SALT = "courses.magic-link"


def _login_marker(user: UserModel) -> str:
    # Part of the signed payload: the first login changes it, so each link works once.
    return user.last_login.isoformat() if user.last_login else ""


def magic_link_token(*, user: UserModel) -> str:
    return signing.TimestampSigner(salt=_MAGIC_LINK_SALT).sign_object(
        {"u": user.pk, "l": _login_marker(user)}
    )


def magic_link_url(*, user: UserModel) -> str:
    path = reverse("courses:magic_login", kwargs={"token": magic_link_token(user=user)})
    return f"{settings.SITE_URL}{path}"


def magic_link_user(*, token: str) -> UserModel:
    """The user a login link belongs to. Raises MagicLinkExpired / MagicLinkInvalid."""
    signer = signing.TimestampSigner(salt=_MAGIC_LINK_SALT)
    try:
        payload = signer.unsign_object(
            token, max_age=timedelta(hours=settings.MAGIC_LINK_MAX_AGE_HOURS)
        )
    except signing.SignatureExpired as exc:
        raise MagicLinkExpired("login link expired") from exc
    except signing.BadSignature as exc:
        raise MagicLinkInvalid("login link invalid") from exc
    user = User.objects.filter(pk=payload.get("u"), is_active=True).first()
    if user is None or payload.get("l") != _login_marker(user):
        raise MagicLinkInvalid("login link already used")
    return user


def access_message_context(*, order: Order) -> dict[str, str]:
    """Links for the payment-success message: the course page and a one-time login link."""
    user = customer_get_or_create(email=order.customer_email)
    course_path = reverse("courses:detail", kwargs={"slug": order.package.course.slug})
    return {
        "course_title": order.package.course.title,
        "course_url": f"{settings.SITE_URL}{course_path}",
        "login_url": magic_link_url(user=user),
    }


def catalog_seed() -> dict[str, int]:
    """Create or update the course, its lessons and packages from `courses.catalog`. Running it
    again changes nothing; prices of existing orders are snapshots and never move."""
    from courses import catalog
    from courses.models import Course, Lesson, Package

    with transaction.atomic():
        slug = catalog.COURSE["slug"]
        course, _ = Course.objects.update_or_create(
            slug=slug, defaults={k: v for k, v in catalog.COURSE.items() if k != "slug"}
        )
        for position, (lesson_slug, title, summary) in enumerate(catalog.LESSONS, start=1):
            Lesson.objects.update_or_create(
                course=course,
                slug=lesson_slug,
                defaults={
                    "title": title,
                    "summary": summary,
                    "body": summary,
                    "position": position,
                },
            )
        for package in catalog.PACKAGES:
            Package.objects.update_or_create(
                code=package["code"],
                defaults={k: v for k, v in package.items() if k != "code"} | {"course": course},
            )
    return {
        "courses": Course.objects.count(),
        "lessons": Lesson.objects.filter(course=course).count(),
        "packages": Package.objects.filter(course=course).count(),
    }
