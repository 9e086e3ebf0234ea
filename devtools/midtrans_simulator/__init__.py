"""Local Midtrans Snap/Core API simulator for development and tests (never production).

Why it exists: the payment code must be exercised through the *real* ``midtransclient`` SDK over
real HTTP, including webhooks, failures and timeouts, without reaching the Midtrans sandbox.
The WSGI app is pure stdlib so it runs and is tested without Django.
"""

from devtools.midtrans_simulator.app import (
    PAYMENT_METHODS,
    MidtransSimulator,
    NotificationRecord,
    PaymentMethod,
    TransactionClosedError,
    TransactionNotFoundError,
    sign_notification,
)
from devtools.midtrans_simulator.server import SimulatorServer

__all__ = [
    "PAYMENT_METHODS",
    "MidtransSimulator",
    "NotificationRecord",
    "PaymentMethod",
    "SimulatorServer",
    "TransactionClosedError",
    "TransactionNotFoundError",
    "sign_notification",
]
