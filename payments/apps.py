from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "Pembayaran"

    def ready(self) -> None:
        from orders.signals import order_expired
        from payments.receivers import expire_at_midtrans_when_order_expired

        order_expired.connect(
            expire_at_midtrans_when_order_expired, dispatch_uid="payments.expire_at_midtrans"
        )
