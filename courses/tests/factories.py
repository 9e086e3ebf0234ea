import factory
from django.contrib.auth.models import User

from courses.models import Course, Lesson, Package
from courses.services import customer_account_id


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("slug",)

    slug = "buat-film-pakai-ai"
    title = "Buat Film Pakai AI"


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    code = factory.Sequence(lambda n: f"paket-{n}")
    course = factory.SubFactory(CourseFactory)
    name = factory.Sequence(lambda n: f"Paket {n}")
    price = 499_000


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    slug = factory.Sequence(lambda n: f"pelajaran-{n}")
    title = factory.Sequence(lambda n: f"Pelajaran {n}")
    position = factory.Sequence(int)


def customer_account(*, email: str) -> User:
    """The customer account a purchase by `email` opens (`customer_account_id`), read back
    whole, for a test that logs it in or compares it."""
    return User.objects.get(pk=customer_account_id(email=email))
