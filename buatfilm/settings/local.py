"""Developer settings: `make run` uses these. Embedded defaults, the Midtrans simulator on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
MIDTRANS_SIMULATOR_ENABLED = env.bool("MIDTRANS_SIMULATOR_ENABLED", default=True)
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405  (simulator, fake gateway; never in production)
