"""Erasure of a customer's data: after it, none of their planted texts is found in any table,
file or team page, and everything else (other customers, counts, rollups) is as it was."""

import os
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import AuditEvent
from dashboards.models import MetricRollup
from dashboards.services.rollups import hour_floor, rollup_hour_refresh
from feedback.models import Feedback, ImportJob, Prediction
from lifecycle.erasure import customer_hash, erasure_request, erasure_run
from lifecycle.models import Erasure
from lifecycle.records import ERASED_TEXT
from tests.helpers import login
from tests.lifecycle.conftest import CUSTOMER_STRINGS, OTHER_TEXT, PLANTED, REF
from triage.clustering.representations import unpack_arrays
from triage.models import DatasetExport, ErrorCategory, ItemVector
from triage.services.export_build import export_build

pytestmark = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="the table sweep casts rows to text on PostgreSQL",
)


# --- the sweeps ------------------------------------------------------------------------------


def database_hits(strings) -> list[str]:
    """Every row of every table cast to text, and every binary column (unpacked when it is a
    run's arrays), searched for the strings."""
    hits = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            for needle in strings:
                cursor.execute(
                    f"SELECT count(*) FROM {connection.ops.quote_name(table)} AS r "
                    "WHERE r::text ILIKE %s",
                    [f"%{needle}%"],
                )
                if count := cursor.fetchone()[0]:
                    hits.append(f"{table}: {needle} x{count}")
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.BinaryField):
                continue
            for blob in model.objects.exclude(**{field.name: None}).values_list(
                field.name, flat=True
            ):
                texts = [bytes(blob).decode("latin-1").lower()]
                try:
                    texts += [str(a.tolist()).lower() for a in unpack_arrays(bytes(blob)).values()]
                except Exception:  # not a run's arrays: the raw bytes were searched
                    pass
                hits += [
                    f"{model.__name__}.{field.name}: {needle}"
                    for needle in strings
                    if any(needle.lower() in text for text in texts)
                ]
    return hits


def file_hits(strings) -> list[str]:
    hits = []
    for root in {Path(settings.MEDIA_ROOT), Path(settings.DATA_DIR)}:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                data = path.read_bytes().lower()
                hits += [f"{path}: {s}" for s in strings if s.lower().encode() in data]
    return hits


def page_hits(client, planted, strings) -> list[str]:
    project = planted.project
    slug = project.slug
    urls = [
        reverse("board", args=[slug]),
        reverse("category-list", args=[slug]),
        reverse("inbox", args=[slug]),
        reverse("export-list", args=[slug]),
        reverse("import-list", args=[slug]),
        reverse("review-list", args=[slug]),
        reverse("erasure-list", args=[slug]),
    ]
    urls += [
        reverse("category-detail", args=[slug, c.id])
        for c in ErrorCategory.objects.filter(project=project)
    ]
    urls += [reverse("feedback-detail", args=[slug, i]) for i in planted.their_feedback]
    urls += [
        reverse("export-detail", args=[slug, e.id])
        for e in DatasetExport.objects.filter(project=project)
    ]
    urls += [
        reverse("import-detail", args=[slug, j.id])
        for j in ImportJob.objects.filter(project=project).exclude(status="draft")
    ]
    hits = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode().lower()
        hits += [f"{url}: {s}" for s in strings if s.lower() in body]
    return hits


# --- running it ------------------------------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    """Tasks published after commit, recorded instead of sent (the tests run them)."""
    sent = []

    def record(name, *args):
        sent.append((name, *args))
        return True

    for module in ("lifecycle.erasure", "triage.services.exports"):
        monkeypatch.setattr(f"{module}.publish", record)
    return sent


def run_erasure(erasure, published, capture) -> Erasure:
    """What the workers would do: the erasure, then the export rebuilds it requested."""
    with capture(execute=True):
        assert erasure_run(erasure_id=erasure.id, task_id="erase") == "succeeded"
    for name, *args in list(published):
        if name == DatasetExport.TASK_NAME:
            export_build(export_id=args[0], task_id="rebuild")
    published.clear()
    erasure.refresh_from_db()
    return erasure


def rollups_of(project):
    hours = {
        hour_floor(t)
        for t in Prediction.objects.filter(project=project).values_list("served_at", flat=True)
    }
    for hour in hours:
        rollup_hour_refresh(project_id=project.id, hour=hour)
    fields = [f.name for f in MetricRollup._meta.concrete_fields if f.name not in {"id"}]
    fields = [f for f in fields if not f.endswith("_at")]
    return sorted(MetricRollup.objects.filter(project=project).values_list(*fields), key=repr)


def snapshot(project):
    return {
        "feedback": Feedback.objects.filter(project=project).count(),
        "predictions": Prediction.objects.filter(project=project).count(),
        "sizes": dict(ErrorCategory.objects.filter(project=project).values_list("id", "size")),
        "other": sorted(
            Feedback.objects.filter(project=project)
            .exclude(customer_hash=customer_hash(project=project, customer_ref=REF))
            .values_list("id", "text", "prediction__input_text")
        ),
    }


def test_after_an_erasure_no_table_file_or_page_holds_the_customers_texts(
    planted, client, published, django_capture_on_commit_callbacks
):
    project = planted.project
    login(client, project, "admin")
    # The sweeps see the planted texts before (so they would see a leak after).
    assert database_hits(PLANTED)
    assert file_hits(PLANTED)
    assert page_hits(client, planted, PLANTED)
    before, rollups = snapshot(project), rollups_of(project)
    old_exports = list(DatasetExport.objects.filter(project=project).order_by("number"))

    erasure = erasure_request(project=project, customer_ref=REF, source="command")
    erasure = run_erasure(erasure, published, django_capture_on_commit_callbacks)

    assert erasure.status == Erasure.Status.SUCCEEDED
    assert database_hits(CUSTOMER_STRINGS) == []
    assert file_hits(CUSTOMER_STRINGS) == []
    assert page_hits(client, planted, CUSTOMER_STRINGS) == []
    # Counts, sizes, rollups and everyone else's texts are as they were.
    assert snapshot(project) == before
    assert rollups_of(project) == rollups
    assert Feedback.objects.filter(text=OTHER_TEXT).exists()
    assert erasure.counts == {
        "feedback_texts": 7,  # 6 complaints through the API, 1 through the import
        "prediction_inputs": 6,
        "vectors": 13,  # their 12 items (API) and 1 (import)
        "import_rows": 2,  # the draft's two rows of theirs (the finished import has no file)
        "categories_recomputed": erasure.categories_recomputed,
        "exports_rebuilt": 2,
    }
    assert erasure.categories_recomputed >= 1
    assert not ItemVector.objects.filter(feedback_id__in=planted.their_feedback).exists()
    # A human title quoting them is replaced by the automatic one, which runs may update.
    category = ErrorCategory.objects.get(id=planted.category.id)
    assert not category.title_locked and category.title == category.auto_title
    # Each export became a new version without their rows; the old files are gone.
    for old in old_exports:
        old.refresh_from_db()
        assert old.file.name == ""
        new = DatasetExport.objects.get(project=project, number=old.number + 2)
        assert new.status == DatasetExport.Status.SUCCEEDED
        assert new.manifest["rebuild"] == {"of": old.label, "erasure": erasure.id}
        assert new.as_of == old.as_of
        assert new.row_count == old.row_count - 6
        assert old.manifest["erased"] == {"erasure": erasure.id, "rebuilt_as": new.label}


def test_the_audit_log_names_the_customer_by_the_keyed_hash_only(
    planted, published, django_capture_on_commit_callbacks
):
    project = planted.project
    erasure = erasure_request(project=project, customer_ref=REF, source="command")
    run_erasure(erasure, published, django_capture_on_commit_callbacks)
    hashed = customer_hash(project=project, customer_ref=REF)
    events = AuditEvent.objects.filter(project=project, target_id=erasure.id)
    assert sorted(events.values_list("action", flat=True)) == [
        "customer_erased",
        "erasure_requested",
    ]
    for event in events:
        assert event.data["customer_hash"] == hashed
        assert REF not in str(event.data)
    assert Erasure.objects.get(id=erasure.id).customer_hash == hashed


def test_running_an_erasure_again_finds_nothing_left(
    planted, published, django_capture_on_commit_callbacks
):
    project = planted.project
    first = erasure_request(project=project, customer_ref=REF, source="command")
    run_erasure(first, published, django_capture_on_commit_callbacks)
    exports = DatasetExport.objects.filter(project=project).count()
    second = erasure_request(project=project, customer_ref=REF, source="command")
    second = run_erasure(second, published, django_capture_on_commit_callbacks)
    assert second.status == Erasure.Status.SUCCEEDED
    assert set(second.counts.values()) == {0}
    assert DatasetExport.objects.filter(project=project).count() == exports
    # The same message delivered twice: the second finds nothing to claim.
    assert erasure_run(erasure_id=second.id, task_id="again") == "skipped"


def test_a_complaints_text_becomes_the_erased_mark_and_its_prediction_has_no_input(
    planted, published, django_capture_on_commit_callbacks
):
    project = planted.project
    erasure = erasure_request(project=project, customer_ref=REF, source="command")
    run_erasure(erasure, published, django_capture_on_commit_callbacks)
    theirs = Feedback.objects.filter(id__in=planted.their_feedback)
    assert set(theirs.filter(kind="complaint").values_list("text", flat=True)) == {ERASED_TEXT}
    assert set(theirs.filter(kind="correction").values_list("text", flat=True)) == {""}
    inputs = Prediction.objects.filter(project=project, request_id__in=planted.their_requests)
    assert set(inputs.values_list("input_text", "input_data")) == {("", None)}


def test_it_waits_while_an_export_of_the_project_is_in_flight(planted, published):
    from triage.services.exports import export_request

    project = planted.project
    export_request(project=project, format="csv")
    erasure = erasure_request(project=project, customer_ref=REF, source="command")
    assert erasure_run(erasure_id=erasure.id, task_id="early") == "waiting"
    erasure.refresh_from_db()
    assert erasure.status == Erasure.Status.QUEUED and erasure.attempts == 0
    assert Prediction.objects.filter(input_text__icontains="zorbliquant").exists()


# --- entry points ----------------------------------------------------------------------------


@pytest.fixture
def privacy_api(project, make_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(project, scopes=('privacy',))}")
    return client


def test_the_api_queues_an_erasure_and_reports_its_status_and_counts(
    project, privacy_api, published, django_capture_on_commit_callbacks
):
    url = f"/api/v1/projects/{project.slug}/erasures"
    with django_capture_on_commit_callbacks(execute=True):
        response = privacy_api.post(url, {"customer_ref": "someone"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["counts"]["feedback_texts"] == 0
    assert published == [(Erasure.TASK_NAME, body["id"])]
    assert erasure_run(erasure_id=body["id"], task_id="t") == "succeeded"
    detail = privacy_api.get(f"{url}/{body['id']}").json()
    assert detail["status"] == "succeeded" and detail["finished_at"]
    assert "someone" not in str(detail)


@pytest.mark.parametrize("body", [{}, {"customer_ref": ""}, {"customer_ref": None}])
def test_a_request_without_a_customer_ref_gets_a_400_naming_the_field(project, privacy_api, body):
    response = privacy_api.post(f"/api/v1/projects/{project.slug}/erasures", body, format="json")
    assert response.status_code == 400
    assert "customer_ref" in response.json()["error"]["details"]
    assert not Erasure.objects.exists()


def test_a_key_without_the_privacy_scope_gets_a_403(project, api):
    url = f"/api/v1/projects/{project.slug}/erasures"
    assert api.post(url, {"customer_ref": "x"}, format="json").status_code == 403
    erasure = erasure_request(project=project, customer_ref="x", source="command")
    assert api.get(f"{url}/{erasure.id}").status_code == 403


def test_another_projects_erasure_is_not_found(project, privacy_api):
    from tests.factories import ProjectFactory

    other = erasure_request(project=ProjectFactory(), customer_ref="x", source="command")
    response = privacy_api.get(f"/api/v1/projects/{project.slug}/erasures/{other.id}")
    assert response.status_code == 404


def test_the_command_erases_and_prints_counts_without_the_reference(planted, published):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("erase_customer", project=planted.project.slug, customer_ref=REF, stdout=out)
    assert "succeeded" in out.getvalue() and REF not in out.getvalue()
    assert not Prediction.objects.filter(input_text__icontains="zorbliquant").exists()


def test_a_project_admin_erases_from_the_privacy_page(project, client, published):
    user = login(client, project, "admin")
    url = reverse("erasure-list", args=[project.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"customer_ref": "someone", "confirm": "on"})
    erasure = Erasure.objects.get(project=project)
    assert response.status_code == 302
    assert erasure.requested_by == user and erasure.source == "page"
    assert AuditEvent.objects.filter(action="erasure_requested", actor=user).exists()
    detail = client.get(reverse("erasure-detail", args=[project.slug, erasure.id]))
    assert detail.status_code == 200 and b"Queued" in detail.content


def test_the_page_needs_the_confirmation_and_a_reference(project, client):
    login(client, project, "admin")
    url = reverse("erasure-list", args=[project.slug])
    assert client.post(url, {"customer_ref": "someone"}).status_code == 400
    assert client.post(url, {"confirm": "on"}).status_code == 400
    assert not Erasure.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_only_project_admins_open_the_privacy_page(project, client, role):
    login(client, project, role)
    assert client.get(reverse("erasure-list", args=[project.slug])).status_code == 403


def test_a_finished_imports_leftover_upload_and_their_report_lines_go(
    planted, published, django_capture_on_commit_callbacks
):
    from tests.lifecycle.conftest import _import

    # Without its after-commit cleanup (as when an import stopped on an internal error),
    # the upload stays: rows of theirs at lines 2 and 4 (the latter rejected, in the report).
    job = _import(planted.project, start=True, capture=lambda execute: _no_commit())
    assert job.file and job.problems_sample[0]["line"] == 4
    erasure = erasure_request(project=planted.project, customer_ref=REF, source="command")
    erasure = run_erasure(erasure, published, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.file.name == "" and job.problems_sample == []
    assert job.report_lines == 0
    assert Path(job.report.path).read_bytes() == "\ufeffline,column,message\r\n".encode()
    assert erasure.import_rows == 4  # 2 in the draft, 2 in this upload


class _no_commit:
    def __enter__(self):
        return []

    def __exit__(self, *exc):
        return False
