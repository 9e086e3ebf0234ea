"""Every admin registration of the project (orders, payments, notifications, courses,
supportdesk) lives here, so the rules of the support desk are in one place:

- Money, status and payment records are view-only for everyone, superusers included: no add,
  no change, no delete, no bulk delete. `Order.status` has no form field anywhere; it changes
  only through `orders.services.order_transition`, which the admin never calls directly.
- The two support actions (reconcile with Midtrans, resend a notification) check their own
  permission and call `supportdesk.services`, which call the same services as the scheduler
  and the outbox, and audit with the staff user and IP.
- Course content (Course with its lessons, Package, PromoCode) is editable by staff with the
  matching model permissions; orders keep snapshots, so editing a price moves no order.
"""

from supportdesk.admin import audit, content, courses, notifications, orders, payments

__all__ = ["audit", "content", "courses", "notifications", "orders", "payments"]
