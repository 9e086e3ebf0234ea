from typing import Any

from django.core.management.base import BaseCommand

from courses.services import catalog_seed


class Command(BaseCommand):
    help = "Create or update the course 'Buat Film Pakai AI', its lessons and packages."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = catalog_seed()
        self.stdout.write(
            f"catalog ready: {counts['courses']} course(s), {counts['lessons']} lessons, "
            f"{counts['packages']} packages"
        )
