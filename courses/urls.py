from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("login/", views.login_request, name="login"),
    path("login/<str:token>/", views.magic_login, name="magic_login"),
    path("logout/", views.logout_view, name="logout"),
    path("my-courses/", views.my_courses, name="my_courses"),
    path("courses/<slug:slug>/", views.course_detail, name="detail"),
    path("courses/<slug:slug>/<slug:lesson_slug>/", views.lesson_detail, name="lesson"),
    path("courses/<slug:slug>/<slug:lesson_slug>/done/", views.lesson_done, name="lesson_done"),
]
