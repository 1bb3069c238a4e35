"""Production settings: what ``check --deploy`` asks for when DEBUG is off, a local run that
keeps working on plain HTTP, and a Content-Security-Policy the pages satisfy."""

import os
import re
import subprocess
import sys

import pytest

from tests.stack import ROOT

SECRET = "a-long-random-production-secret-key-for-the-deploy-check-0123456789"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py`` in a fresh process, with the environment a deployment would give it."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "HTTPS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "SECRET_KEY": SECRET, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def setting(name: str, **env: str) -> str:
    shown = manage(
        "shell",
        "--no-imports",
        "-c",
        f"from django.conf import settings; print(settings.{name})",
        **env,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_the_deploy_check_passes_with_debug_off():
    checked = manage("check", "--deploy", "--tag", "security", "--fail-level", "WARNING", DEBUG="0")
    assert checked.returncode == 0, checked.stderr


def test_a_local_run_serves_plain_http():
    assert setting("SECURE_SSL_REDIRECT", DEBUG="1") == "False"
    assert setting("SESSION_COOKIE_SECURE", DEBUG="1") == "False"
    assert setting("SECURE_SSL_REDIRECT", DEBUG="0", HTTPS="0") == "False"


def test_behind_a_proxy_terminating_tls_its_header_is_trusted_when_configured():
    header = setting(
        "SECURE_PROXY_SSL_HEADER", DEBUG="0", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert header == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.django_db
def test_probes_answer_over_plain_http_where_pages_redirect_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 401, "asked for its token, not redirected"
    assert client.get("/tickets/").status_code == 301


@pytest.mark.django_db
def test_pages_carry_a_policy_that_allows_no_inline_script(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_no_template_has_an_inline_script_or_event_handler():
    """What the policy would block: a <script> with a body (json_script's data block aside)
    and on*= attributes."""
    offending = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            offending.append(f"{template.relative_to(ROOT)}: {match.group()}")
        for match in re.finditer(r"<[a-z]+[^>]*\son[a-z]+\s*=", text):
            offending.append(f"{template.relative_to(ROOT)}: {match.group()}")
    assert offending == []
