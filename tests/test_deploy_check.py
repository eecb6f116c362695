"""The production environment documented in the README passes `manage.py check --deploy`."""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

README = Path(settings.BASE_DIR) / "README.md"
BLOCK = re.compile(r"<!-- production-environment -->\s*```sh\n(?P<body>.*?)```", re.S)


def documented_production_environment() -> dict[str, str]:
    block = BLOCK.search(README.read_text()).group("body")
    return dict(line.split("=", 1) for line in block.splitlines() if line.strip())


def run_deploy_check(environment: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    inherited = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={**inherited, "DATA_DIR": str(tmp_path), **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_documented_production_environment_passes_check_deploy_without_warnings(tmp_path):
    environment = documented_production_environment()
    assert {"SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SECRET_KEY"} <= set(environment)

    result = run_deploy_check(environment, tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_embedded_defaults_are_not_mistaken_for_a_production_setup(tmp_path):
    """Without the production variables the deploy check does warn (HSTS, SSL redirect)."""
    result = run_deploy_check({}, tmp_path)

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
    assert "security.W008" in result.stdout + result.stderr
