"""Course access: customer accounts and entitlements. Entitlements are granted and revoked only
from the order state machine (`orders.services.order_transition`), inside its transaction."""

import hashlib
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User as UserModel
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from buatfilm.formatting import mask_email
from courses.models import Entitlement, Lesson, LoginLink
from notifications.models import Channel, NotificationOutbox, Template
from notifications.services import NotRelevant, outbox_enqueue
from orders.models import Order, OrderStatus
from supportdesk.audit import AuditEntries, audit_entry, audit_record

logger = logging.getLogger(__name__)

User = get_user_model()


def customer_account_id(*, email: str) -> int:
    """The id of the customer account for an email (case-insensitive), created if there is
    none, without a usable password: customers log in by magic link only. One statement
    either way (the settlement's path, where most buyers are new): INSERT … ON CONFLICT
    (username) DO UPDATE SET username = EXCLUDED.username RETURNING id. The "update" rewrites
    the same value when the account exists, so the id is always the row's; only the id is
    returned because the other columns of the object built here are not the database's. Safe
    under concurrent calls without a savepoint: a concurrent creator of the same account
    cannot fail the caller's transaction."""
    normalized = email.strip().lower()
    (user,) = User.objects.bulk_create(
        [User(username=normalized[:150], email=normalized, password=make_password(None))],
        update_conflicts=True,
        unique_fields=["username"],
        update_fields=["username"],
    )
    return int(user.pk)


def entitlement_grant(
    *, order: Order, actor: str, now: datetime, audit: AuditEntries
) -> Entitlement:
    """Create the one entitlement of a PAID order. The OneToOne on `order` makes a second grant
    impossible; the caller holds the order row lock, so this never races with itself. Its
    audit row is appended to `audit`: the transition writes it with its own."""
    entitlement = Entitlement.objects.create(
        order=order,
        user_id=customer_account_id(email=order.customer_email),
        course=order.package.course,
        status=Entitlement.Status.ACTIVE,
        granted_at=now,
    )
    audit.append(
        audit_entry(
            actor=actor,
            action="entitlement_granted",
            entity_type="entitlement",
            entity_id=str(entitlement.pk),
            new_value={"course": order.package.course.slug, "status": entitlement.status},
            correlation_id=order.order_id,
        )
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
    """The link was tampered with, or already used."""


class MagicLinkExpired(MagicLinkInvalid):
    """The link is genuine but older than MAGIC_LINK_MAX_AGE_HOURS."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def magic_link_tokens(
    *, user_id: int, channels: Sequence[str], now: datetime | None = None
) -> dict[str, str]:
    """Issue a new single-use login link for account `user_id` on each of `channels` (one
    INSERT); returns the secret tokens by channel (only their hashes are stored). Each link
    works once, independently of every other link."""
    now = now or timezone.now()
    tokens = {channel: secrets.token_urlsafe(32) for channel in channels}
    LoginLink.objects.bulk_create(
        LoginLink(
            token_hash=_token_hash(token),
            user_id=user_id,
            channel=channel,
            created_at=now,
            expires_at=now + timedelta(hours=settings.MAGIC_LINK_MAX_AGE_HOURS),
        )
        for channel, token in tokens.items()
    )
    return tokens


def magic_link_token(
    *, user: UserModel, channel: str = LoginLink.Channel.EMAIL, now: datetime | None = None
) -> str:
    """One new single-use login link for `user` on `channel` (see `magic_link_tokens`)."""
    return magic_link_tokens(user_id=user.pk, channels=[channel], now=now)[channel]


def _magic_link_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('courses:magic_login', kwargs={'token': token})}"


def magic_link_url(*, user: UserModel, channel: str = LoginLink.Channel.EMAIL) -> str:
    return _magic_link_url(magic_link_token(user=user, channel=channel))


def _login_link(*, token: str, now: datetime, lock: bool = False) -> LoginLink:
    links = LoginLink.objects.select_related("user")
    if lock:
        links = links.select_for_update(of=("self",))
    link = links.filter(token_hash=_token_hash(token)).first()
    if link is None or link.used_at is not None or not link.user.is_active:
        raise MagicLinkInvalid("login link invalid or already used")
    if now >= link.expires_at:
        raise MagicLinkExpired("login link expired")
    return link


def magic_link_user(*, token: str, now: datetime | None = None) -> UserModel:
    """The user a login link belongs to. Raises MagicLinkExpired / MagicLinkInvalid."""
    return _login_link(token=token, now=now or timezone.now()).user


def _customer_for_login(*, email: str) -> UserModel | None:
    """The customer account for a login-link request. Staff and superusers never log in by
    magic link: that would walk around the admin's password, lockout and 2FA."""
    return User.objects.filter(
        username=email.strip().lower()[:150],
        is_active=True,
        is_staff=False,
        is_superuser=False,
    ).first()


def login_link_request(*, email: str) -> NotificationOutbox:
    """Queue a one-time login link email for `email`, through the outbox (retried, DLQ'd).

    The request does the same database work whatever the email (one outbox row, dispatched
    after commit), so neither the answer nor its timing tells whether `email` is a customer.
    Whether it is one is decided when the worker sends (`login_link_send_context`): a
    customer's row gets a fresh link minted then (never stored in the outbox); any other
    address (unknown, staff) becomes CANCELLED and nothing is sent. Returns the row (for tests
    and logs only)."""
    normalized = email.strip().lower()[:254]
    context = {
        "max_age_hours": settings.MAGIC_LINK_MAX_AGE_HOURS,
        "support_whatsapp_url": settings.SUPPORT_WHATSAPP_URL,
    }
    (row,) = outbox_enqueue(
        template=Template.LOGIN_LINK, recipients={Channel.EMAIL: normalized}, context=context
    )
    return row


def login_link_send_context(row: NotificationOutbox) -> dict[str, str]:
    """The outbox's send-time context for a login-link row (registered in `CoursesConfig`):
    a new single-use link for the customer, or `NotRelevant` for an address that is not a
    customer's (staff never log in by magic link)."""
    user = _customer_for_login(email=row.recipient)
    if user is None:
        logger.info("login link requested for unknown email %s", mask_email(row.recipient))
        raise NotRelevant("tidak ada akun pelanggan dengan email ini")
    return {"login_url": magic_link_url(user=user, channel=LoginLink.Channel.EMAIL)}


@transaction.atomic
def magic_link_consume(*, token: str, now: datetime | None = None) -> UserModel:
    """Use a login link: verify it and mark it used under a row lock, so it works once even if
    two clicks race. Other links (the other channel's, older ones) are unaffected.

    Raises `MagicLinkExpired` / `MagicLinkInvalid` (tampered, used, staff account)."""
    now = now or timezone.now()
    link = _login_link(token=token, now=now, lock=True)
    user = link.user
    if user.is_staff or user.is_superuser:
        raise MagicLinkInvalid("staff accounts do not log in by magic link")
    link.used_at = now
    link.save(update_fields=["used_at"])
    user.last_login = now
    user.save(update_fields=["last_login"])
    return user


def entitlement_touch(*, entitlement: Entitlement, now: datetime | None = None) -> None:
    """Record that the customer opened the course (`last_accessed_at`); one UPDATE, no lock."""
    now = now or timezone.now()
    Entitlement.objects.filter(pk=entitlement.pk).update(last_accessed_at=now)
    entitlement.last_accessed_at = now


def access_message_context(
    *, order: Order, channel: str = LoginLink.Channel.EMAIL
) -> dict[str, str]:
    """Links for the payment-success message on `channel`: the course page and a one-time
    login link of its own (the email's and the WhatsApp's are different links)."""
    return access_message_contexts(order=order, channels=[channel])[channel]


def access_message_contexts(
    *,
    order: Order,
    user_id: int | None = None,
    channels: Sequence[str] = LoginLink.Channel.values,
) -> dict[str, dict[str, str]]:
    """`access_message_context` for each of `channels` (default: every customer channel), keyed
    by channel; `user_id` is the order's customer account when the caller has it already."""
    user_id = user_id or customer_account_id(email=order.customer_email)
    course = order.package.course
    course_url = f"{settings.SITE_URL}{reverse('courses:detail', kwargs={'slug': course.slug})}"
    tokens = magic_link_tokens(user_id=user_id, channels=channels)
    return {
        channel: {
            "course_title": course.title,
            "course_url": course_url,
            "login_url": _magic_link_url(token),
        }
        for channel, token in tokens.items()
    }


class OneClickUnavailable(Exception):
    """One-click access does not apply (window over, staff account, no active entitlement):
    the caller sends a fresh login link instead."""


def one_click_access(
    *, order: Order, now: datetime | None = None, ip_address: str | None = None
) -> UserModel:
    """Log-in decision for "Buka kursus" on the PAID status page, whose secret `access_key` the
    caller has checked: the buyer's account, if the order is PAID, paid less than
    ONE_CLICK_ACCESS_DAYS ago, its entitlement opens the course and the account is not staff.
    Audited (`one_click_access`). Raises `OneClickUnavailable` otherwise (audited too)."""
    from courses.selectors import course_access_entitlement

    now = now or timezone.now()
    user = User.objects.filter(username=order.customer_email.strip().lower()[:150]).first()
    reason = ""
    window = timedelta(days=settings.ONE_CLICK_ACCESS_DAYS)
    if order.status != OrderStatus.PAID or order.paid_at is None:
        reason = "not_paid"
    elif now - order.paid_at > window:
        reason = "window_over"
    elif user is None or not user.is_active:
        reason = "no_account"
    elif user.is_staff or user.is_superuser:
        reason = "staff_account"
    elif course_access_entitlement(user=user, course=order.package.course, now=now) is None:
        reason = "no_access"
    audit_record(
        actor="customer",
        action="one_click_access" if not reason else "one_click_access_refused",
        entity_type="order",
        entity_id=order.order_id,
        new_value={"user_id": user.pk if user else None, "reason": reason or "ok"},
        correlation_id=order.order_id,
        ip_address=ip_address,
    )
    if reason or user is None:
        raise OneClickUnavailable(reason)
    return user


def catalog_seed() -> dict[str, int]:
    """Create or update the course, its lessons and packages from `courses.catalog`. Running it
    again changes nothing; prices of existing orders are snapshots and never move; lesson texts
    an editor changed are kept."""
    from courses import catalog
    from courses.models import Course, Lesson, Package

    with transaction.atomic():
        slug = catalog.COURSE["slug"]
        course, _ = Course.objects.update_or_create(
            slug=slug, defaults={k: v for k, v in catalog.COURSE.items() if k != "slug"}
        )
        for position, (lesson_slug, title, summary, minutes, body) in enumerate(
            catalog.LESSONS, start=1
        ):
            lesson, created = Lesson.objects.get_or_create(
                course=course,
                slug=lesson_slug,
                defaults={
                    "title": title,
                    "summary": summary,
                    "body": body,
                    "duration_minutes": minutes,
                    "position": position,
                },
            )
            # An existing lesson keeps what editors wrote; only still-empty parts are filled
            # (the first seed wrote the summary as the body).
            if not created and (lesson.body in ("", lesson.summary) or not lesson.duration_minutes):
                if lesson.body in ("", lesson.summary):
                    lesson.body = body
                if not lesson.duration_minutes:
                    lesson.duration_minutes = minutes
                lesson.save(update_fields=["body", "duration_minutes"])
        for package in catalog.PACKAGES:
            Package.objects.update_or_create(
                code=package["code"],
                defaults={k: v for k, v in package.items() if k != "code"} | {"course": course},
            )
    from content.services import shop_texts_seed

    shop_texts_seed()  # the footer links to these pages: they must exist
    return {
        "courses": Course.objects.count(),
        "lessons": Lesson.objects.filter(course=course).count(),
        "packages": Package.objects.filter(course=course).count(),
    }


def lesson_mark_done(
    *, user: UserModel, lesson: Lesson, done: bool = True, now: datetime | None = None
) -> None:
    """Mark a lesson done (idempotent: a second click keeps the first time) or not done. The
    caller has checked course access."""
    from courses.models import LessonProgress

    if done:
        LessonProgress.objects.get_or_create(
            user=user, lesson=lesson, defaults={"completed_at": now or timezone.now()}
        )
    else:
        LessonProgress.objects.filter(user=user, lesson=lesson).delete()
