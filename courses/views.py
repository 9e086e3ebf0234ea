"""Customer login by magic link, "Kursus saya", course and lesson pages. Thin: the access rule is
`courses.selectors.user_has_course_access`, writes are in `courses.services`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from buatfilm.formatting import mask_email
from buatfilm.http import ratelimit_ip_key
from buatfilm.views import ratelimited
from courses import selectors, services
from courses.forms import LoginLinkForm
from courses.models import Course
from courses.video import lesson_video
from orders import selectors as order_selectors

_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@never_cache
@require_http_methods(["GET", "POST"])
def login_request(request: HttpRequest) -> HttpResponse:
    """ "Kirim link masuk": the same answer whether or not the email has an account."""
    if request.method == "GET":
        if request.user.is_authenticated:
            return redirect("courses:my_courses")
        return render(request, "courses/login.html", {"form": LoginLinkForm()})

    if is_ratelimited(
        request,
        group="courses.login_link.ip",
        key=ratelimit_ip_key,
        rate=settings.LOGIN_LINK_RATE_PER_IP,
        increment=True,
    ):
        return ratelimited(request, Exception("login link rate limit (ip)"))
    form = LoginLinkForm(request.POST)
    if not form.is_valid():
        return render(request, "courses/login.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    # Over the per-email limit the answer is the same, only no email goes out: nobody can
    # flood someone's inbox, and the limit reveals nothing about which emails have accounts.
    if not is_ratelimited(
        request,
        group="courses.login_link.email",
        key=lambda group, req: email,
        rate=settings.LOGIN_LINK_RATE_PER_EMAIL,
        increment=True,
    ):
        services.login_link_request(email=email)
    return render(
        request,
        "courses/login_sent.html",
        {"email": email, "max_age_hours": settings.MAGIC_LINK_MAX_AGE_HOURS},
    )


def _link_problem(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return render(
        request,
        "courses/magic_login.html",
        {"problem": "expired" if expired else "invalid", "form": LoginLinkForm()},
        status=410,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def magic_login(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button (mail scanners follow links; a GET must not use up the link);
    POST uses the link and logs in."""
    try:
        if request.method == "GET":
            user = services.magic_link_user(token=token)
            if user.is_staff or user.is_superuser:
                raise services.MagicLinkInvalid("staff accounts do not log in by magic link")
            return render(
                request,
                "courses/magic_login.html",
                {"problem": "", "account": mask_email(user.email or user.username)},
            )
        user = services.magic_link_consume(token=token)
    except services.MagicLinkExpired:
        return _link_problem(request, expired=True)
    except services.MagicLinkInvalid:
        return _link_problem(request, expired=False)
    login(request, user, backend=_MODEL_BACKEND)
    messages.success(request, "Kamu sudah masuk. Selamat belajar!")
    return redirect("courses:my_courses")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "Kamu sudah keluar.")
    return redirect("orders:landing")


@login_required
def my_courses(request: HttpRequest) -> HttpResponse:
    cards = selectors.user_course_cards(user=request.user)  # type: ignore[arg-type]
    rows = [
        (card, selectors.course_progress(user=request.user, course=card.course))  # type: ignore[arg-type]
        for card in cards
    ]
    email = request.user.email or request.user.get_username()  # type: ignore[union-attr]
    return render(
        request,
        "courses/my_courses.html",
        {"rows": rows, "orders": order_selectors.orders_of_customer(email=email)},
    )


def _course_or_404(slug: str) -> Course:
    course = selectors.course_for_page(slug=slug)
    if course is None:
        raise Http404
    return course


def _no_access(request: HttpRequest, course: Course) -> HttpResponse:
    revoked = selectors.user_lost_course_access(user=request.user, course=course)
    return render(
        request, "courses/no_access.html", {"course": course, "revoked": revoked}, status=403
    )


@login_required
def course_detail(request: HttpRequest, slug: str) -> HttpResponse:
    course = _course_or_404(slug)
    entitlement = selectors.course_access_entitlement(user=request.user, course=course)
    if entitlement is None:
        return _no_access(request, course)
    services.entitlement_touch(entitlement=entitlement)
    progress = selectors.course_progress(user=request.user, course=course)  # type: ignore[arg-type]
    return render(
        request,
        "courses/detail.html",
        {"course": course, "lessons": progress.lessons, "progress": progress},
    )


@login_required
def lesson_detail(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    course = _course_or_404(slug)
    entitlement = selectors.course_access_entitlement(user=request.user, course=course)
    if entitlement is None:
        return _no_access(request, course)
    progress = selectors.course_progress(user=request.user, course=course)  # type: ignore[arg-type]
    lessons = progress.lessons
    index = next((i for i, item in enumerate(lessons) if item.slug == lesson_slug), None)
    if index is None:
        raise Http404
    services.entitlement_touch(entitlement=entitlement)
    lesson = lessons[index]
    return render(
        request,
        "courses/lesson.html",
        {
            "course": course,
            "lesson": lesson,
            "lessons": lessons,
            "progress": progress,
            "done": lesson.pk in progress.done_ids,
            "video": lesson_video(lesson.video_url),
            "previous": lessons[index - 1] if index > 0 else None,
            "next": lessons[index + 1] if index + 1 < len(lessons) else None,
        },
    )


@require_POST
@login_required
def lesson_done(request: HttpRequest, slug: str, lesson_slug: str) -> HttpResponse:
    """ "Tandai selesai" (done=1) / "Tandai belum selesai" (done=0). Marking done goes on to the
    next unfinished lesson, or back to the course page when everything is done."""
    course = _course_or_404(slug)
    if selectors.course_access_entitlement(user=request.user, course=course) is None:
        return _no_access(request, course)
    lesson = selectors.course_lessons(course=course).filter(slug=lesson_slug).first()
    if lesson is None:
        raise Http404
    done = request.POST.get("done", "1") != "0"
    services.lesson_mark_done(user=request.user, lesson=lesson, done=done)  # type: ignore[arg-type]
    if not done:
        return redirect("courses:lesson", slug=course.slug, lesson_slug=lesson.slug)
    progress = selectors.course_progress(user=request.user, course=course)  # type: ignore[arg-type]
    if progress.next_lesson is None:
        messages.success(request, "Selamat, semua pelajaran sudah selesai!")
        return redirect("courses:detail", slug=course.slug)
    messages.success(request, f"Pelajaran “{lesson.title}” selesai.")
    return redirect("courses:lesson", slug=course.slug, lesson_slug=progress.next_lesson.slug)
