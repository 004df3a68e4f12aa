"""The deployment examples: a systemd unit that systemd accepts, proxies that forward
every webhook Modest serves."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.registry import default_registry
from tests.support.paths import REPO

ROOT = REPO
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    # The unit names /opt/modest; verify checks that the programs it runs exist, so it is
    # checked as installed in this checkout (whose .venv has the modest command).
    unit = tmp_path / "modest.service"
    unit.write_text((DEPLOY / "modest.service").read_text().replace("/opt/modest", str(ROOT)))
    done = subprocess.run(  # noqa: S603 - a fixed program and our own file
        ["systemd-analyze", "verify", str(unit)],  # noqa: S607 - found on PATH, as systemd is
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    ours = [line for line in done.stderr.splitlines() if str(unit) in line or "modest" in line]
    assert done.returncode == 0, done.stderr
    assert ours == [], ours


def test_the_unit_runs_a_dedicated_user_and_restarts_on_failure() -> None:
    text = (DEPLOY / "modest.service").read_text()
    assert re.search(r"^User=modest$", text, re.M)
    assert re.search(r"^Restart=on-failure$", text, re.M)
    assert re.search(r"^ExecStart=/opt/modest/\.venv/bin/modest run$", text, re.M)
    assert re.search(r"^ProtectSystem=strict$", text, re.M)


def test_the_proxy_examples_forward_every_webhook_and_nothing_else() -> None:
    paths = [hook.path for plugin in default_registry().plugins() for hook in plugin.webhooks]
    assert "/webhooks/helpdeskeddy" in paths
    nginx = (DEPLOY / "nginx.conf").read_text()
    caddy = (DEPLOY / "Caddyfile").read_text()
    nginx_forwarded = re.findall(r"location (/\S+/) \{\s*proxy_pass", nginx)
    caddy_forwarded = re.findall(r"handle (/\S+)\* \{\s*reverse_proxy", caddy)
    for path in [*paths, "/telegram/webhook"]:
        assert any(path.startswith(prefix) for prefix in nginx_forwarded), path
        assert any(path.startswith(prefix) for prefix in caddy_forwarded), path
    assert not any("/healthz".startswith(prefix) for prefix in nginx_forwarded)
    assert "ssl_certificate" in nginx
