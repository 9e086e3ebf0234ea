"""Reads for course access. The access rule lives here and only here."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from courses.models import Course, Entitlement, Lesson, LessonProgress
from orders.models import OrderStatus


def _active_entitlements(*, now: datetime) -> QuerySet[Entitlement]:
    # Defence in depth: the entitlement must be ACTIVE *and* its order PAID, so "course access
    # without PAID: 0" holds even if some future path forgot to revoke an entitlement.
    return Entitlement.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        status=Entitlement.Status.ACTIVE,
        order__status=OrderStatus.PAID,
    )


def course_access_entitlement(
    *, user: AbstractBaseUser | AnonymousUser, course: Course, now: datetime | None = None
) -> Entitlement | None:
    """The entitlement that opens `course` for `user` right now, or None."""
    if not user.is_authenticated:
        return None
    return (
        _active_entitlements(now=now or timezone.now())
        .filter(user_id=user.pk, course=course)
        .order_by("granted_at")
        .first()
    )


def user_has_course_access(
    *, user: AbstractBaseUser | AnonymousUser, course: Course, now: datetime | None = None
) -> bool:
    """True only for a logged-in user with an ACTIVE, unexpired entitlement to `course` whose
    order is PAID. SUSPENDED and REVOKED entitlements (refund) open nothing."""
    return course_access_entitlement(user=user, course=course, now=now) is not None


def customer_owns_course(
    *, email: str, course: Course, phone: str = "", now: datetime | None = None
) -> bool:
    """Whether the customer with this email already has ACTIVE access to `course` (the
    owned-package rule at checkout). With `phone`, the paid order must also carry that
    WhatsApp number: checkout only tells a browser "you already own this" when it proved both
    contact details (or is logged in), so an email alone reveals nothing (docs/decisions.md)."""
    entitlements = _active_entitlements(now=now or timezone.now()).filter(
        user__username=email.strip().lower()[:150], course=course
    )
    if phone:
        entitlements = entitlements.filter(order__customer_phone=phone)
    return entitlements.exists()


def user_lost_course_access(*, user: AbstractBaseUser | AnonymousUser, course: Course) -> bool:
    """Whether the user once had this course and the entitlement was revoked or suspended
    (the no-access page then says so instead of "buy it")."""
    if not user.is_authenticated:
        return False
    return Entitlement.objects.filter(
        user_id=user.pk,
        course=course,
        status__in=[Entitlement.Status.REVOKED, Entitlement.Status.SUSPENDED],
    ).exists()


@dataclass(frozen=True)
class CourseCard:
    course: Course
    entitlement: Entitlement  # the one that opens the course, else the most recent
    accessible: bool


def user_course_cards(*, user: AbstractBaseUser, now: datetime | None = None) -> list[CourseCard]:
    """One card per course the user ever had (newest first) for "Kursus saya", marked with
    whether it opens now (same rule as `user_has_course_access`). A course bought twice is
    one card."""
    entitlements = list(
        Entitlement.objects.filter(user_id=user.pk)
        .select_related("course", "order")
        .order_by("-granted_at", "-pk")
    )
    open_ids = set(
        _active_entitlements(now=now or timezone.now())
        .filter(user_id=user.pk)
        .values_list("pk", flat=True)
    )
    by_course: dict[int, list[Entitlement]] = {}
    for entitlement in entitlements:
        by_course.setdefault(entitlement.course_id, []).append(entitlement)
    cards = []
    for group in by_course.values():
        opening = [e for e in group if e.pk in open_ids]
        chosen = opening[-1] if opening else group[0]  # earliest opening one: "aktif sejak"
        cards.append(CourseCard(course=chosen.course, entitlement=chosen, accessible=bool(opening)))
    return cards


def course_for_page(*, slug: str) -> Course | None:
    return Course.objects.filter(slug=slug, is_active=True).first()


def course_lessons(*, course: Course) -> QuerySet[Lesson]:
    return Lesson.objects.filter(course=course).order_by("position", "pk")


@dataclass(frozen=True)
class CourseProgress:
    lessons: list[Lesson]
    done_ids: frozenset[int]
    next_lesson: Lesson | None  # the first lesson not done yet (None: all done or none)

    @property
    def total(self) -> int:
        return len(self.lessons)

    @property
    def done_count(self) -> int:
        return sum(1 for lesson in self.lessons if lesson.pk in self.done_ids)

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / self.total) if self.total else 0

    @property
    def started(self) -> bool:
        return self.done_count > 0

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.done_count == self.total


def course_progress(*, user: AbstractBaseUser, course: Course) -> CourseProgress:
    lessons = list(course_lessons(course=course))
    done = frozenset(
        LessonProgress.objects.filter(user_id=user.pk, lesson__course=course).values_list(
            "lesson_id", flat=True
        )
    )
    next_lesson = next((lesson for lesson in lessons if lesson.pk not in done), None)
    return CourseProgress(lessons=lessons, done_ids=done, next_lesson=next_lesson)
