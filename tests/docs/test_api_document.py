"""docs/api.md is the project's API contract: it must say exactly what the live schema serves."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
API_DOC = ROOT / "docs" / "api.md"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# "### `POST /api/v1/...`" then, in the same section, "Responses: 200, 400, ..."
ENDPOINT = re.compile(r"^### `(GET|POST|PUT|PATCH|DELETE) (/api/\S+)`$", re.M)
RESPONSES = re.compile(r"Responses: ([0-9, ]+)\.")


def documented_operations(text: str) -> dict[tuple[str, str], set[str]]:
    operations = {}
    matches = list(ENDPOINT.finditer(text))
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        section = text[match.end() : following.start() if following else len(text)]
        codes = RESPONSES.search(section)
        assert codes, f"{match.group(1)} {match.group(2)}: no 'Responses:' line in docs/api.md"
        key = (match.group(1), match.group(2))
        assert key not in operations, f"{key} is documented twice"
        operations[key] = {code.strip() for code in codes.group(1).split(",")}
    return operations


def served_operations(schema: dict) -> dict[tuple[str, str], set[str]]:
    return {
        (method.upper(), path): set(operation["responses"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def test_the_document_lists_every_served_endpoint_with_its_status_codes(schema):
    documented = documented_operations(API_DOC.read_text())
    served = served_operations(schema)

    assert sorted(set(served) - set(documented)) == [], "served but not in docs/api.md"
    assert sorted(set(documented) - set(served)) == [], "in docs/api.md but not served"
    differing = {
        f"{method} {path}": {"documented": sorted(documented[key]), "served": sorted(codes)}
        for key, codes in served.items()
        for method, path in [key]
        if documented[key] != codes
    }
    assert differing == {}


def test_the_parser_notices_an_undocumented_status_code(schema):
    text = API_DOC.read_text().replace(
        "Scope `export`. Responses: 200, 302, 401, 403, 404, 409.",
        "Scope `export`. Responses: 200, 302, 401, 403, 404.",
    )
    served = served_operations(schema)
    documented = documented_operations(text)

    key = ("GET", "/api/v1/projects/{slug}/exports/{export_id}/download")
    assert documented[key] != served[key]


def test_the_served_schema_is_the_one_the_docs_page_shows(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    assert b"/api/v1/projects/{slug}/predictions" in response.content


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    return [ROOT / name.decode() for name in listed if name]


# A relative path that climbs out of its folder (dot-dot-slash, e.g. to a sibling checkout's
# shared folder), and code that
# climbs from its own file: Path(__file__).parent.parent... or .parents[N]. The security tests'
# path-traversal payloads (../../etc/passwd) are attacks on the app, not references.
CLIMB = re.compile(r"(?<![.\w])\.\./(?!(?:\.\./)*etc/passwd)")
FROM_FILE = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?(\.parents\[(\d+)\]|(?:\.parent)+)")
# Relative links in Markdown: [text](target)
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def lines_reaching_outside(path: Path, text: str) -> list[str]:
    depth = len(path.relative_to(ROOT).parts)  # .parent this many times is ROOT
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        climbs = [
            len(match.group(1)) // len(".parent")
            if match.group(2) is None
            else int(match.group(2)) + 1
            for match in FROM_FILE.finditer(line)
        ]
        if CLIMB.search(line) or any(levels > depth for levels in climbs):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def test_no_file_of_the_project_refers_to_anything_outside_the_repository():
    offending = []
    for path in tracked_files():
        if "static/vendor" in str(path) or path.suffix in {".csv", ".png", ".mo", ".parquet"}:
            continue
        try:
            offending += lines_reaching_outside(path, path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, FileNotFoundError):
            continue

    assert offending == []


def test_the_outside_check_catches_the_ways_a_file_can_leave_the_repository():
    module = ROOT / "feedback" / "replay.py"  # two levels deep

    climbing = "DATA = '" + ".." + "/shared/data/banking77'"  # not written whole: it would match
    assert lines_reaching_outside(module, climbing)
    assert lines_reaching_outside(module, 'x = Path(__file__).resolve().parent.parent.parent / "s"')
    assert lines_reaching_outside(module, "x = Path(__file__).parents[2]")
    assert not lines_reaching_outside(module, "ROOT = Path(__file__).resolve().parent.parent")
    assert not lines_reaching_outside(module, "GET .../predictions/{request_id}")


def test_every_relative_link_in_the_documentation_resolves_inside_the_repository():
    broken = []
    for path in tracked_files():
        if path.suffix != ".md" or "static/vendor" in str(path):
            continue
        for target in MARKDOWN_LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:|^#", target):  # web links and anchors
                continue
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")

    assert broken == []
