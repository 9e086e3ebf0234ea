import factory

from courses.models import Course, Lesson, Package


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
