"""The seams of the code, held by its imports: apps use the backbone's public face only, the
backbone knows no app, and no app knows another."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("support", "training")
BACKBONE = "eventplatform.events"


def imported_modules(package: Path) -> list[tuple[str, str]]:
    """(file, module) for every absolute import in the package's code (not its migrations)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), module) for module in modules]
    return found


@pytest.mark.parametrize("app", APPS)
def test_an_app_uses_only_the_backbones_public_face(app):
    deeper = [(f, m) for f, m in imported_modules(ROOT / app) if m.startswith(f"{BACKBONE}.")]
    assert deeper == [], f"import these from {BACKBONE} itself"


def test_the_backbone_names_no_app():
    backbone = ROOT.joinpath(*BACKBONE.split("."))
    assert [(f, m) for f, m in imported_modules(backbone) if m.split(".")[0] in APPS] == []


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_no_other_app(app):
    others = set(APPS) - {app}
    assert [(f, m) for f, m in imported_modules(ROOT / app) if m.split(".")[0] in others] == []
