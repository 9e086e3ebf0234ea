"""Production static files: `collectstatic` with the hashed, compressed manifest storage works
for every app's files, and pages link the hashed names."""

import json
import subprocess
import sys

from buatfilm.testing import production_env
from buatfilm.tests.test_project import ROOT


def test_collectstatic_and_hashed_names_under_production_settings(tmp_path):
    env = production_env(STATIC_ROOT=str(tmp_path / "static"))
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert collect.returncode == 0, collect.stderr[-3000:]
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/site.css"]
    assert hashed != "css/site.css" and hashed.startswith("css/site.")
    assert (tmp_path / "static" / (hashed + ".gz")).exists()

    script = (
        "from django.templatetags.static import static; "
        "print(static('css/site.css')); print(static('js/checkout.js'))"
    )
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split()[-2:] == [
        "/static/" + hashed,
        "/static/" + manifest["js/checkout.js"],
    ]
