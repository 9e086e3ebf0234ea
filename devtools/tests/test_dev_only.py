"""The simulator and the fake gateway never load in production."""

import os
import subprocess
import sys

from django.conf import settings

PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "buatfilm.settings.production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "shop.example",
    "MIDTRANS_SERVER_KEY": "Mid-server-x",
    "MIDTRANS_CLIENT_KEY": "Mid-client-x",
}


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(PROD_ENV)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_development_settings_install_devtools():
    assert "devtools" in settings.INSTALLED_APPS


def test_production_settings_cannot_import_devtools():
    result = _python("import devtools.midtrans_simulator")
    assert result.returncode != 0
    assert "devtools is development-only" in result.stderr


def test_production_installed_apps_exclude_devtools():
    result = _python(
        "from importlib import import_module\n"
        "s = import_module('buatfilm.settings.production')\n"
        "print(any(a.startswith('devtools') for a in s.INSTALLED_APPS))"
    )
    # A later production guard may refuse this partial env; either way devtools never loads.
    assert "True" not in result.stdout
