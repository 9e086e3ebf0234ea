"""OpenAPI description of the JSON API (drf-spectacular): the answer shapes of `orders.api`.

These serializers only describe what the views answer (the views build their bodies with
`_order_created_body` / `selectors.order_public_summary`); `orders/tests/test_openapi.py` and
the schemathesis run check that real answers match them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from orders.models import OrderStatus, PaymentMethod
from payments.models import AttemptStatus

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="16-100 random characters (A-Z a-z 0-9 _ - : .), the same for every repeat of "
    "this request: a repeat returns the first order instead of creating another.",
)
ORDER_KEY = OpenApiParameter(
    "X-Order-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The order's access_key (from the create answer). Or `?key=`.",
)
ORDER_KEY_QUERY = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Same as X-Order-Key."
)


class _Nullable(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)


class PaymentSerializer(serializers.Serializer[dict[str, Any]]):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    midtrans_order_id = _Nullable()
    status = serializers.ChoiceField(choices=AttemptStatus.choices, allow_null=True)
    redirect_url = _Nullable(help_text="The Snap payment page, while the payment is live.")
    token = _Nullable(help_text="The Snap token, while the payment is live.")


class OrderCreatedSerializer(serializers.Serializer[dict[str, Any]]):
    order_id = serializers.CharField()
    access_key = serializers.CharField(help_text="Keep it: it opens the order (X-Order-Key).")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()
    payment = PaymentSerializer()
    status_url = serializers.CharField()


class OrderPaymentProblemSerializer(OrderCreatedSerializer):
    detail = serializers.CharField()
    retryable = serializers.BooleanField(required=False)


class OrderConflictSerializer(OrderCreatedSerializer):
    detail = serializers.CharField()


class SummaryPaymentSerializer(serializers.Serializer[dict[str, Any]]):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    method_display = serializers.CharField()
    midtrans_order_id = _Nullable()
    status = serializers.ChoiceField(choices=AttemptStatus.choices, allow_null=True)
    transaction_status = _Nullable()
    va_number = _Nullable()
    bank = _Nullable()
    bill_key = _Nullable()
    biller_code = _Nullable()
    qr_string = _Nullable()
    qr_url = _Nullable()
    deeplink_url = _Nullable()
    redirect_url = _Nullable()


class OrderSummarySerializer(serializers.Serializer[dict[str, Any]]):
    order_id = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_display = serializers.CharField()
    amount = serializers.IntegerField()
    amount_display = serializers.CharField()
    base_amount = serializers.IntegerField()
    discount_amount = serializers.IntegerField()
    discount_code = _Nullable()
    currency = serializers.CharField()
    package = inline_serializer(
        "OrderPackage", {"code": serializers.CharField(), "name": serializers.CharField()}
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    server_time = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(min_value=0)
    can_retry_payment = serializers.BooleanField()
    payment_methods = inline_serializer(
        "PaymentMethodChoice",
        {"code": serializers.CharField(), "name": serializers.CharField()},
        many=True,
    )
    payment = SummaryPaymentSerializer()
    customer = inline_serializer(
        "MaskedCustomer",
        {"email": serializers.CharField(), "phone": serializers.CharField()},
    )
    course_url = _Nullable()


DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
FIELD_ERRORS = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="Field errors: `{field: [message, ...]}` (Indonesian), including "
    "`Idempotency-Key` when the header is missing or malformed.",
)
NOT_FOUND = OpenApiResponse(DETAIL, description="No such order, or a wrong access key.")
RATE_LIMITED = OpenApiResponse(DETAIL, description="Too many requests from this address.")
