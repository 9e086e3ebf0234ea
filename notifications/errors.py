"""How a send failed, as far as the outbox cares: try again later, or never."""


class DeliveryError(Exception):
    """A provider did not accept a message.

    `permanent=True`: sending the same message again cannot succeed (invalid recipient, a request
    the provider refuses as malformed): the outbox row goes straight to the DLQ.
    `permanent=False`: network trouble, timeouts, 5xx, 429, credentials/config being fixed:
    the row is retried with backoff until `max_attempts`.
    """

    def __init__(self, message: str, *, permanent: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code

    def __str__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        status = f" status={self.status_code}" if self.status_code is not None else ""
        return f"{kind}{status}: {self.message}"


# Statuses that say "not now" rather than "never": timeouts, conflicts, rate limits, and
# credentials (a bad token is our configuration, fixed by ops, not a property of the message).
TRANSIENT_HTTP_STATUSES = frozenset({401, 403, 408, 409, 425, 429})


def status_is_permanent(status_code: int) -> bool:
    """4xx other than the ones above means the provider refuses this message: do not retry."""
    return 400 <= status_code < 500 and status_code not in TRANSIENT_HTTP_STATUSES
