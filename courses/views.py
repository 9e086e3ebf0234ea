from django.http import Http404, HttpRequest, HttpResponse


def login_request(request: HttpRequest) -> HttpResponse:
    raise Http404


def magic_login(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


def course_detail(request: HttpRequest, slug: str) -> HttpResponse:
    raise Http404


def my_courses(request: HttpRequest) -> HttpResponse:
    raise Http404
