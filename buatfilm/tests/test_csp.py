"""Content-Security-Policy: the header under production settings, no inline code in any page
template, and real pages in Chromium that the policy does not break."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from buatfilm.csp import midtrans_form_origins
from buatfilm.testing import production_env
from buatfilm.tests.test_project import ROOT

# Emails and WhatsApp texts are not pages: mail clients need inline styles, CSP does not apply.
MESSAGE_TEMPLATES = ("/email/", "notifications/templates/")
INLINE = re.compile(
    r"<style|\sstyle\s*=|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|javascript:", re.IGNORECASE
)


def page_templates() -> list[Path]:
    found = []
    for path in ROOT.glob("**/templates/**/*.html"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "var/", "staticfiles/")):
            continue
        if not any(part in relative for part in MESSAGE_TEMPLATES):
            found.append(path)
    return found


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_no_page_template_has_inline_script_or_style():
    templates = page_templates()
    assert len(templates) > 10
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)!r}"
        for path in templates
        for match in [INLINE.search(path.read_text())]
        if match
    ]
    assert not offenders, "move these to static/ files:\n" + "\n".join(offenders)


def test_the_policy_header_under_production_settings():
    script = (
        "import json; from django.test import Client; "
        "r = Client().get('/metrics', secure=True, HTTP_HOST='buatfilm.example.com'); "
        "csp = r.headers.get('Content-Security-Policy'); "
        "print(json.dumps({'status': r.status_code, 'csp': csp}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=production_env(MIDTRANS_IS_PRODUCTION="true"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 401  # no token: no database, no template needed
    policy = directives(answer["csp"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'", "https://app.midtrans.com"]
    assert "'unsafe-inline'" not in answer["csp"] and "'unsafe-eval'" not in answer["csp"]


def test_form_action_follows_the_midtrans_environment(settings):
    settings.MIDTRANS_IS_PRODUCTION = False
    settings.MIDTRANS_SNAP_BASE_URL = ""
    assert midtrans_form_origins() == ["https://app.sandbox.midtrans.com"]
    settings.MIDTRANS_SNAP_BASE_URL = "http://127.0.0.1:8765/snap/v1"
    assert midtrans_form_origins() == ["https://app.sandbox.midtrans.com", "http://127.0.0.1:8765"]


@pytest.mark.django_db
def test_every_page_gets_the_header(client):
    response = client.get("/")
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert "https://app.sandbox.midtrans.com" in policy["form-action"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_render_in_chromium_without_a_policy_violation(live_server, browser_page):
    from courses.services import catalog_seed

    catalog_seed()
    violations: list[str] = []
    browser_page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    for path in ["/", "/checkout/pro/", "/login/", "/admin/login/", "/no-such-page/", "/api/docs/"]:
        browser_page.goto(live_server.url + path)
        browser_page.wait_for_load_state("load")
    # Swagger UI renders the schema with its (local) scripts.
    browser_page.goto(live_server.url + "/api/docs/")
    browser_page.wait_for_selector(".swagger-ui .info .title")
    assert "BuatFilm API" in browser_page.inner_text(".swagger-ui .info .title")
    # The checkout's own script still runs (it disables the button on submit).
    browser_page.goto(live_server.url + "/checkout/pro/")
    browser_page.get_by_role("button", name="Order").click()
    browser_page.wait_for_load_state("load")
    assert browser_page.get_by_role("alert").is_visible()
    assert not violations, violations
