"""Content-Security-Policy (django-csp): no inline script or style anywhere, only our own origin,
and forms may lead (by their 302) to the Midtrans payment page.

The checkout and retry forms answer with a redirect to Snap's `redirect_url`; browsers apply
`form-action` to that redirect, so the Snap origin in use is added per request from the current
settings: `app.midtrans.com` in production, `app.sandbox.midtrans.com` in the sandbox, and the
origin of `MIDTRANS_SNAP_BASE_URL` when it points elsewhere (the local simulator).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

SNAP_PRODUCTION_ORIGIN = "https://app.midtrans.com"
SNAP_SANDBOX_ORIGIN = "https://app.sandbox.midtrans.com"


def midtrans_form_origins() -> list[str]:
    """Where a checkout form's redirect may take the customer."""
    origins = [SNAP_PRODUCTION_ORIGIN if settings.MIDTRANS_IS_PRODUCTION else SNAP_SANDBOX_ORIGIN]
    custom = urlsplit(settings.MIDTRANS_SNAP_BASE_URL or "")
    if custom.scheme in ("http", "https") and custom.netloc:
        origin = f"{custom.scheme}://{custom.netloc}"
        if origin not in origins:
            origins.append(origin)
    return origins


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update = dict(parts.update or {})
        existing = update.get("form-action") or []
        if isinstance(existing, str):
            existing = [existing]
        update["form-action"] = [*existing, *midtrans_form_origins()]
        parts.update = update
        return parts
