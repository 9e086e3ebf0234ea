"""Development-only stand-ins for the outside world: the Midtrans simulator and the fake
WhatsApp gateway. Production never imports this package: it is not in the production
INSTALLED_APPS, and importing it under production settings raises (see the test)."""

import os

from django.core.exceptions import ImproperlyConfigured

if os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production"):
    raise ImproperlyConfigured("devtools is development-only; production settings never load it")
