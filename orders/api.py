from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.generics import ListAPIView

from courses.models import Package
from orders import selectors


class PackageSerializer(serializers.ModelSerializer[Package]):
    course = serializers.CharField(source="course.slug")

    class Meta:
        model = Package
        fields = ["code", "name", "description", "price", "course"]


class PackageListView(ListAPIView[Package]):
    serializer_class = PackageSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Package]:
        return selectors.packages_for_sale()
