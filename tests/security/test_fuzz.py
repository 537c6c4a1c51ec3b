"""Schema-driven fuzzing of the whole public API with schemathesis, on a live server.

Positive and negative generation, every check: the figures are the test cases generated and
the server errors among them (must be 0).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.models import ApiKey
from feedback.services import api_key_create
from tests.conftest import ARTIFACTS
from tests.factories import ErrorCategoryFactory, FeedbackFactory, PredictionFactory, ProjectFactory
from triage.models import ClusteringRun

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = 30

CONFIG = """
# Identifiers of the records seeded below, so the detail operations are reached too.
[parameters]
# Every request addresses the test project (other projects: the IDOR tests).
"path.slug" = "fuzz"
"path.request_id" = "fuzz-req"
"path.category_id" = {category_id}
"path.run_id" = {run_id}

# Every check, except that an API key sees only its project: a valid-looking request for an
# id that does not exist there is rightly a 404, not a defect.
[checks]
positive_data_acceptance.enabled = false

# Ingest batches keep their valid rows and name the invalid ones in a 200 answer
# (API.md: "bad input loses nothing else"), so an invalid item is not a rejected request.
[[operations]]
include-path-regex = "/(predictions|feedback)$"
include-method = "POST"
checks.negative_data_rejection.enabled = false
# For the same reason a batch's rejected row is, rightly, not found afterwards.
checks.ensure_resource_availability.enabled = false
"""


def test_fuzzing_every_operation_finds_no_server_error(live_server, tmp_path, figures):
    project = ProjectFactory(slug="fuzz", labels=["card_arrival", "lost_card"])
    _, key = api_key_create(project=project, scopes=ApiKey.Scope.values)
    prediction = PredictionFactory(project=project, request_id="fuzz-req")
    FeedbackFactory(prediction=prediction, text="Wrong answer <b>again</b>")
    category = ErrorCategoryFactory(project=project, title="Card delivery")
    run = ClusteringRun.objects.create(project=project)
    report = tmp_path / "report.json"
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(category_id=category.id, run_id=run.id))
    result = subprocess.run(
        [
            Path(sys.executable).with_name("st"), "--config-file", str(config), "run",
            f"{live_server.url}/api/schema/", "--url", live_server.url,
            "-H", f"Authorization: Bearer {key}",
            "--mode", "all",
            "--max-examples", str(MAX_EXAMPLES), "--seed", "20261123",
            "--report", "json", "--report-json-path", str(report),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "schemathesis.txt").write_text(result.stdout)
    summary = json.loads(report.read_text()) if report.exists() else {}
    failures = summary.get("failures", [])
    figures.update(
        operations=summary.get("operations", {}).get("tested", 0),
        test_cases_generated=summary.get("test_cases", {}).get("generated", 0),
        server_errors_5xx=sum(f["count"] for f in failures if f["type"] == "ServerError"),
        other_failures=sum(f["count"] for f in failures if f["type"] != "ServerError"),
    )
    output = result.stdout[-8000:]
    assert figures["operations"] >= 11, output
    assert figures["test_cases_generated"] > 300, output
    assert figures["server_errors_5xx"] == 0, output
    assert result.returncode == 0 and not failures, output
