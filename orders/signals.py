"""What orders tell the layers above it without importing them."""

from django.dispatch import Signal

# Sent after the transaction that moved an order to EXPIRED by its deadline has committed,
# with `order_id`. Payments listens: it asks Midtrans to expire the order's live transactions.
order_expired = Signal()
