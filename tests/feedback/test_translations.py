"""Every string of the pages is translated (the customer's and the team's), and the committed .mo
matches the .po."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / "django.po"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Names that read the same in Korean: the product, "API" (an import sent by an API key), the
# "sha256" of a file, "CSV" (a download), "UTC" (a time zone) and "LSA" (a method).
NAMES = {"VoC", "Triage", "API", "sha", "CSV", "UTC", "LSA"}
# Attributes a person reads or hears (a screen reader reads labels and titles).
READ_ATTRIBUTES = r'\b(?:aria-label|title|placeholder|alt|data-[a-z-]*text)="([^"]*)"'


def _string(lines: list[str], key: str) -> str | None:
    parts, collecting = [], False
    for line in lines:
        if line.startswith(key + " "):
            collecting = True
            parts.append(line[len(key) + 1 :])
        elif collecting and line.startswith('"'):
            parts.append(line)
        elif collecting:
            break
    return "".join(ast.literal_eval(part) for part in parts) if parts else None


def catalog(po: Path = PO) -> list[dict]:
    entries = []
    for block in po.read_text(encoding="utf-8").split("\n\n")[1:]:
        lines = block.strip().splitlines()
        entries.append(
            {
                "msgid": _string(lines, "msgid"),
                "plural": _string(lines, "msgid_plural"),
                "msgstr": _string(lines, "msgstr") or _string(lines, "msgstr[0]"),
                "fuzzy": any(line.startswith("#,") and "fuzzy" in line for line in lines),
            }
        )
    return entries


def test_every_string_has_a_korean_translation_that_is_not_fuzzy():
    entries = catalog()

    assert len(entries) > 30
    assert [e["msgid"] for e in entries if not e["msgstr"] or e["fuzzy"]] == []


def test_the_catalogue_holds_every_string_marked_for_translation(tmp_path):
    """makemessages over a copy of the sources finds no string the committed catalogue lacks
    (a new {% translate %} without its Korean fails here) and none it no longer needs."""
    if not shutil.which("xgettext"):
        pytest.fail("xgettext not found: install Debian's gettext (make test does)")
    root = Path(settings.BASE_DIR)
    for name in ("core", "feedback", "triage", "dashboards", "lifecycle", "config", "templates",
                 "locale"):  # fmt: skip
        shutil.copytree(root / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "manage.py", tmp_path)
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-obsolete"],
        cwd=tmp_path, env=environment, check=True, capture_output=True,
    )  # fmt: skip

    found = {entry["msgid"] for entry in catalog(tmp_path / PO.relative_to(root))}
    committed = {entry["msgid"] for entry in catalog()}
    assert sorted(found - committed) == [], "marked but not in the catalogue: run makemessages"
    assert sorted(committed - found) == [], "in the catalogue but no longer marked"


def test_the_compiled_catalogue_matches_the_source():
    with translation.override("ko"):
        for entry in catalog():
            if entry["plural"]:
                got = translation.ngettext(entry["msgid"], entry["plural"], 2)
            else:
                got = translation.gettext(entry["msgid"])
            assert got == entry["msgstr"], f"run compilemessages: {entry['msgid']!r}"


def _templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        yield pytest.param(name, id=name)


@pytest.mark.parametrize("template", list(_templates()))
def test_templates_have_no_untranslated_text(template):
    source = (TEMPLATES / template).read_text(encoding="utf-8")
    translated_blocks = r"{% (comment|blocktranslate)\b.*?{% end\1 %}"
    without_tags = re.sub(translated_blocks, " ", source, flags=re.S)
    without_tags = re.sub(r"{%.*?%}|{{.*?}}|{#.*?#}", " ", without_tags, flags=re.S)
    attributes = " ".join(re.findall(READ_ATTRIBUTES, without_tags))
    text = re.sub(r"<[^>]+>", " ", without_tags) + " " + attributes

    words = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in NAMES]

    assert words == [], f"text outside {{% translate %}} in {template}"
