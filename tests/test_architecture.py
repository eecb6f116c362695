"""The layering of DESIGN.md, as code: apps import downward only, and shared rules exist once."""

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings

from donations.models import ImageStatus
from donations.querysets import PUBLIC_STATUS

ROOT = Path(settings.BASE_DIR)
# From the bottom up; an app may import the ones before it.
LAYERS = [
    {"core"},
    {"contributors"},
    {"trust"},
    {"donations"},
    {"labels_app"},
    {"validations", "annotations"},
    {"moderation", "datasets"},
    {"imagemonkey_site"},
]
APPS = set().union(*LAYERS)
TASK_APPS = {"validations", "annotations"}


def level(app: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if app in layer)


def imports_of(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def app_modules():
    for app in sorted(APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def test_apps_import_only_the_apps_below_them():
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for app, path in app_modules()
        for line, module in imports_of(path)
        if (target := module.split(".")[0]) in APPS
        and target != app
        and level(target) >= level(app)
    ]

    assert upward == []


def test_no_app_imports_another_apps_views():
    crossing = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for app, path in app_modules()
        for line, module in imports_of(path)
        if module.split(".")[0] in APPS - {app, "core"}
        and re.search(r"\.(api\.)?views$", module)
        and app != "imagemonkey_site"
    ]

    assert crossing == []


@pytest.mark.parametrize("app", sorted(TASK_APPS))
def test_no_task_app_imports_another_task_apps_services(app):
    crossing = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for owner, path in app_modules()
        if owner == app
        for line, module in imports_of(path)
        if module.split(".")[0] in TASK_APPS - {app}
    ]

    assert crossing == []


PUBLIC_RULE_SPELLED_OUT = re.compile(
    r"status(__[a-z]+)?\s*=\s*(ImageStatus\.UNLOCKED|[\"']unlocked[\"'])"
    r"|\.status\s*[!=]=\s*(ImageStatus\.UNLOCKED|[\"']unlocked[\"'])"
)


def test_the_public_image_rule_is_written_once():
    """Image.is_public for a row, donations.querysets.public_q for queries; nothing else."""
    assert PUBLIC_STATUS == ImageStatus.UNLOCKED
    spelled_out = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app, path in app_modules()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PUBLIC_RULE_SPELLED_OUT.search(line)
    ]

    assert spelled_out == []
