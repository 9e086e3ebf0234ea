from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = "Pesanan"

    def ready(self) -> None:
        from notifications.attachments import attachment_provider_register
        from notifications.models import Template
        from orders.invoice import invoice_attachments

        attachment_provider_register(
            template=Template.PAYMENT_SUCCESS_ACCESS, provider=invoice_attachments
        )
