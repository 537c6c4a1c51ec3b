"""The layering the README draws, checked on the source: which package may import which.

    lifecycle            (erasure, retention, backup: above the apps it touches)
    triage, dashboards   (dashboards may read triage)
    feedback             (ingest)
    core                 (shared machinery: names the apps' models only through the registry)

and the pure parts (the clustering engine, the export writers, CSV-safe text) import no Django
and nothing of the apps but each other.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "feedback", "triage", "dashboards", "lifecycle", "config")

# package -> the first-party packages it must not import
FORBIDDEN = {
    "core": {"feedback", "triage", "dashboards", "lifecycle"},
    "feedback": {"triage", "dashboards", "lifecycle"},
    "triage": {"dashboards", "lifecycle"},
    "dashboards": {"lifecycle"},
}
PURE = ("triage/clustering", "triage/exports", "core/csv_safe.py")


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the modules `path` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = path.relative_to(ROOT).parent.parts
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else ()
            names.add(".".join([*base, *([node.module] if node.module else [])]))
    return names


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def sources(folder: str) -> list[Path]:
    if folder.endswith(".py"):
        return [ROOT / folder]
    return [
        path
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "migrations" not in path.parts and "tests" not in path.parts
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_from_the_layers_above_it(package):
    offenders = [
        f"{path.relative_to(ROOT)} imports {sorted(imported_roots(path) & FORBIDDEN[package])}"
        for path in sources(package)
        if imported_roots(path) & FORBIDDEN[package]
    ]
    assert offenders == []


@pytest.mark.parametrize("folder", PURE)
def test_the_clustering_engine_and_export_writers_import_no_django(folder):
    pure = tuple(name.removesuffix(".py").replace("/", ".") for name in PURE)
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(folder)
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in {"django", "rest_framework", *APPS} and not name.startswith(pure)
    ]
    assert offenders == []


def test_the_checker_resolves_relative_imports():
    """The rules above would pass vacuously if relative imports were not resolved."""
    assert "triage.exports.rows" in imported_modules(ROOT / "triage/exports/writers.py")
    assert "triage.models" in imported_modules(ROOT / "triage/services/references.py")
