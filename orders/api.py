"""The JSON API (DRF): packages, order creation (Idempotency-Key) and order status (access key).

Input rules are the checkout form's (`orders.validators`); writes go through the same services
as the HTML checkout. Errors are JSON with Indonesian messages keyed by field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from buatfilm.http import client_ip_or_none, user_agent
from courses.models import Package
from orders import api_schema as doc
from orders import checkout, selectors, validators
from orders.models import Order, PaymentMethod
from orders.selectors import order_status_url
from payments import attempts, cancellation
from payments.models import AttemptStatus, PaymentAttempt

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

IDEMPOTENCY_HEADER = "Idempotency-Key"
ORDER_KEY_HEADER = "X-Order-Key"

_REQUIRED: dict[str, str | StrPromise] = {
    "required": "Wajib diisi.",
    "blank": "Wajib diisi.",
    "null": "Wajib diisi.",
    "invalid": "Harus berupa teks.",
    "max_length": "Terlalu panjang.",
}


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


def _normalized(normalize: Callable[[str], str], value: str) -> str:
    """Run a shared validator and speak DRF's error type."""
    try:
        return normalize(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc


class CheckoutSerializer(serializers.Serializer[dict[str, Any]]):
    """`POST /api/orders/` body: the checkout form's fields plus the package code."""

    package = serializers.CharField(max_length=40, error_messages=_REQUIRED)
    name = serializers.CharField(max_length=200, error_messages=_REQUIRED)
    email = serializers.CharField(max_length=300, error_messages=_REQUIRED)
    phone = serializers.CharField(max_length=30, error_messages=_REQUIRED)
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        error_messages={
            **_REQUIRED,
            "invalid_choice": "Metode pembayaran tidak dikenal. Pilihan: "
            + ", ".join(PaymentMethod.values)
            + ".",
        },
    )
    promo_code = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default="", error_messages=_REQUIRED
    )

    def validate_name(self, value: str) -> str:
        return _normalized(validators.normalize_name, value)

    def validate_email(self, value: str) -> str:
        return _normalized(validators.normalize_email, value)

    def validate_phone(self, value: str) -> str:
        return _normalized(validators.normalize_phone, value)

    def validate_promo_code(self, value: str) -> str:
        return _normalized(validators.normalize_promo_code, value)


def _payment_body(order: Order, attempt: PaymentAttempt | None) -> dict[str, Any]:
    """The payment part of a create answer: the live Snap transaction, if any."""
    live = attempt is not None and attempt.status == AttemptStatus.PENDING
    return {
        "method": order.payment_method,
        "midtrans_order_id": attempt.midtrans_order_id if attempt else None,
        "status": attempt.status if attempt else None,
        "redirect_url": attempt.redirect_url if live and attempt else None,
        "token": attempt.snap_token if live and attempt else None,
    }


def _order_created_body(order: Order, attempt: PaymentAttempt | None = None) -> dict[str, Any]:
    """The create answer. `attempt`: the attempt just started (its `order` is current); without
    it, the order and its latest attempt are read again."""
    if attempt is not None:
        order = attempt.order
    else:
        order.refresh_from_db()
        attempt = selectors.order_latest_attempt(order=order)
    return {
        "order_id": order.order_id,
        "access_key": order.access_key,
        "status": order.status,
        "amount": order.final_amount,
        "currency": order.currency,
        "expires_at": order.expires_at.isoformat(),
        "payment": _payment_body(order, attempt),
        "status_url": order_status_url(order),
    }


class OrderCreateView(APIView):
    """`POST /api/orders/` with a required `Idempotency-Key` header.

    201: order created and its Snap transaction started. 200: this key was seen before; the
    first order is returned (and, if Midtrans was unavailable then, payment is tried again).
    400: field errors. 503: Midtrans unavailable; the order exists (id + access key in the
    answer) and the same request can simply be repeated. 502: Midtrans refused it."""

    @extend_schema(
        operation_id="order_create",
        parameters=[doc.IDEMPOTENCY_KEY],
        request=CheckoutSerializer,
        responses={
            201: OpenApiResponse(doc.OrderCreatedSerializer, description="Order created."),
            200: OpenApiResponse(doc.OrderCreatedSerializer, description="Repeat: the first."),
            400: doc.FIELD_ERRORS,
            415: doc.DETAIL,
            429: doc.RATE_LIMITED,
            502: OpenApiResponse(doc.OrderPaymentProblemSerializer, description="Refused."),
            503: OpenApiResponse(
                doc.OrderPaymentProblemSerializer,
                description="Midtrans unavailable; the order exists, repeat the request.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            key = validators.validate_idempotency_token(request.headers.get(IDEMPOTENCY_HEADER, ""))
        except DjangoValidationError:
            return Response(
                {
                    IDEMPOTENCY_HEADER: [
                        "Header Idempotency-Key wajib diisi: 16-100 karakter acak "
                        "(A-Z, a-z, 0-9, _ - : .), sama untuk setiap pengulangan permintaan ini."
                    ]
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        idempotency_key = f"api:{key}"
        order = selectors.order_by_idempotency_key(idempotency_key=idempotency_key)
        created = order is None
        recorded = None
        if order is None:
            serializer = CheckoutSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            try:
                order, recorded = attempts.checkout_order_create(
                    package_code=data["package"],
                    customer_name=data["name"],
                    customer_email=data["email"],
                    customer_phone=data["phone"],
                    payment_method=data["payment_method"],
                    promo_code=data["promo_code"],
                    idempotency_key=idempotency_key,
                    ip_address=client_ip_or_none(request._request),
                    user_agent=user_agent(request._request),
                    key_checked=True,
                )
            except checkout.CheckoutError as exc:
                return Response({exc.field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)
        return self._start_payment(order, created=created, recorded=recorded)

    def _start_payment(
        self, order: Order, *, created: bool, recorded: PaymentAttempt | None
    ) -> Response:
        started = None
        try:
            started = attempts.attempt_start(order_id=order.order_id, recorded=recorded)
        except (
            attempts.PaymentAlreadyStarted,
            attempts.PaymentInProgress,
            attempts.PaymentNotAllowed,
        ):
            pass  # a repeat: the order as it stands is the answer
        except (attempts.PaymentUnavailable, attempts.PaymentRejected) as exc:
            unavailable = isinstance(exc, attempts.PaymentUnavailable)
            body = _order_created_body(order) | {"detail": exc.message, "retryable": unavailable}
            return Response(
                body,
                status=status.HTTP_503_SERVICE_UNAVAILABLE
                if unavailable
                else status.HTTP_502_BAD_GATEWAY,
            )
        return Response(
            _order_created_body(order, started),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderDetailView(APIView):
    """`GET /api/orders/<order_id>/` with the access key (`X-Order-Key` header or `?key=`).
    A wrong key and a missing order are the same 404."""

    @extend_schema(
        operation_id="order_detail",
        parameters=[doc.ORDER_KEY, doc.ORDER_KEY_QUERY],
        responses={
            200: doc.OrderSummarySerializer,
            400: doc.DETAIL,  # hostile input (NUL, lone surrogate, over-long) in the key
            404: doc.NOT_FOUND,
            429: doc.RATE_LIMITED,
        },
    )
    def get(self, request: Request, order_id: str) -> Response:
        access_key = request.headers.get(ORDER_KEY_HEADER) or request.query_params.get("key", "")
        order = selectors.order_for_customer(order_id=order_id, access_key=access_key)
        if order is None:
            return Response(
                {"detail": "Pesanan tidak ditemukan."}, status=status.HTTP_404_NOT_FOUND
            )
        summary = selectors.order_public_summary(order=order, now=timezone.now())
        response = Response(summary)
        response["Cache-Control"] = "no-store"
        return response


class RetryPaymentSerializer(serializers.Serializer[dict[str, Any]]):
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices,
        required=False,
        allow_blank=True,
        default="",
        error_messages={
            "invalid_choice": "Metode pembayaran tidak dikenal. Pilihan: "
            + ", ".join(PaymentMethod.values)
            + "."
        },
    )


def _customer_order(request: Request, order_id: str) -> Order | None:
    access_key = request.headers.get(ORDER_KEY_HEADER) or request.query_params.get("key", "")
    return selectors.order_for_customer(order_id=order_id, access_key=access_key)


_NOT_FOUND = {"detail": "Pesanan tidak ditemukan."}


class OrderPayView(APIView):
    """`POST /api/orders/<order_id>/pay/` with the access key (`X-Order-Key`) and an optional
    `{"payment_method": "other_qris"}`: a new payment attempt (retry with any method) when the
    last one failed or expired. 201 with the order (payment.redirect_url = the new Snap page);
    409 when no retry is possible (a live payment exists, or the order is closed); 503/502 when
    Midtrans is unavailable/refused."""

    @extend_schema(
        operation_id="order_pay",
        parameters=[doc.ORDER_KEY, doc.ORDER_KEY_QUERY],
        request=RetryPaymentSerializer,
        responses={
            201: OpenApiResponse(doc.OrderCreatedSerializer, description="New attempt."),
            400: doc.FIELD_ERRORS,
            404: doc.NOT_FOUND,
            409: OpenApiResponse(doc.OrderConflictSerializer, description="No retry possible."),
            415: doc.DETAIL,
            429: doc.RATE_LIMITED,
            502: OpenApiResponse(doc.OrderPaymentProblemSerializer, description="Refused."),
            503: OpenApiResponse(doc.OrderPaymentProblemSerializer, description="Unavailable."),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        order = _customer_order(request, order_id)
        if order is None:
            return Response(_NOT_FOUND, status=status.HTTP_404_NOT_FOUND)
        serializer = RetryPaymentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            attempts.attempt_start(
                order_id=order.order_id,
                payment_method=serializer.validated_data["payment_method"],
            )
        except (
            attempts.PaymentAlreadyStarted,
            attempts.PaymentInProgress,
            attempts.PaymentNotAllowed,
        ) as exc:
            return Response(
                _order_created_body(order) | {"detail": exc.message},
                status=status.HTTP_409_CONFLICT,
            )
        except (attempts.PaymentUnavailable, attempts.PaymentRejected) as exc:
            unavailable = isinstance(exc, attempts.PaymentUnavailable)
            return Response(
                _order_created_body(order) | {"detail": exc.message, "retryable": unavailable},
                status=status.HTTP_503_SERVICE_UNAVAILABLE
                if unavailable
                else status.HTTP_502_BAD_GATEWAY,
            )
        return Response(_order_created_body(order), status=status.HTTP_201_CREATED)


class CancelOrderSerializer(serializers.Serializer[dict[str, Any]]):
    confirm = serializers.BooleanField(
        error_messages={"required": "Wajib diisi: confirm = true untuk membatalkan pesanan."}
    )

    def validate_confirm(self, value: bool) -> bool:
        if value is not True:
            raise serializers.ValidationError("Isi confirm = true untuk membatalkan pesanan.")
        return value


class OrderCancelView(APIView):
    """`POST /api/orders/<order_id>/cancel/` with the access key and `{"confirm": true}`: cancel
    a pending order (`payments.cancellation.order_cancel`). 200 with the order: `status` FAILED,
    or PAID when a payment won the race. 409 when the order is not pending; 503 when Midtrans
    is unreachable (nothing changed; repeat)."""

    @extend_schema(
        operation_id="order_cancel",
        parameters=[doc.ORDER_KEY, doc.ORDER_KEY_QUERY],
        request=CancelOrderSerializer,
        responses={
            200: OpenApiResponse(doc.OrderCreatedSerializer, description="Cancelled (or paid)."),
            400: doc.FIELD_ERRORS,
            404: doc.NOT_FOUND,
            409: OpenApiResponse(doc.OrderConflictSerializer, description="Not pending."),
            415: doc.DETAIL,
            429: doc.RATE_LIMITED,
            503: OpenApiResponse(doc.OrderPaymentProblemSerializer, description="Unavailable."),
        },
    )
    def post(self, request: Request, order_id: str) -> Response:
        order = _customer_order(request, order_id)
        if order is None:
            return Response(_NOT_FOUND, status=status.HTTP_404_NOT_FOUND)
        CancelOrderSerializer(data=request.data).is_valid(raise_exception=True)
        try:
            result = cancellation.order_cancel(
                order_id=order.order_id,
                actor=cancellation.CUSTOMER_ACTOR,
                ip_address=client_ip_or_none(request._request),
            )
        except cancellation.CancelNotAllowed:
            return Response(
                _order_created_body(order) | {"detail": "Pesanan ini tidak bisa dibatalkan."},
                status=status.HTTP_409_CONFLICT,
            )
        except cancellation.CancelUnavailable:
            return Response(
                _order_created_body(order)
                | {
                    "detail": "Layanan pembayaran sedang tidak merespons; coba lagi.",
                    "retryable": True,
                },
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(_order_created_body(result.order), status=status.HTTP_200_OK)
