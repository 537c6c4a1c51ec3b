"""The export pages: list and form, an export's page with HTMX progress, the buttons that
open the form prefilled, roles and downloads."""

import io
import json

import pandas as pd
import pytest

from core.models import AuditEvent
from feedback.models import Feedback
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    PredictionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.helpers import login
from triage.models import DatasetExport, ItemAssignment
from triage.services.export_build import export_build
from triage.services.exports import BAD_WINDOW, export_request
from triage.services.improvements import improvement_create
from triage.services.reference_read import reference_read

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project():
    project = ProjectFactory(slug="shop")
    for n in range(3):
        prediction = PredictionFactory(
            project=project, input_text=f"where is card {n}", predicted_label="card_arrival"
        )
        FeedbackFactory(prediction=prediction, corrected_label="lost_or_stolen_card")
    return project


def form_data(**overrides):
    data = {"format": "jsonl", "resolution": "latest", "seed": "0", "flagged": "mark"}
    data.update(overrides)
    return data


def hx_get(client, path):
    return client.get(path, headers={"HX-Request": "true"})


def test_a_reviewer_requests_an_export_and_follows_it_until_it_is_built(client, project):
    user = login(client, project, "reviewer")

    response = client.post("/p/shop/exports/", form_data(format="csv", resolution="majority"))

    export = DatasetExport.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == f"/p/shop/exports/{export.id}/"
    assert (export.label, export.format, export.resolution) == ("v1", "csv", "majority")
    assert export.created_by == user
    page = client.get(response["Location"]).content.decode()
    assert "Export v1" in page and "Queued" in page
    assert 'hx-trigger="every 2s"' in page, "the page polls while the export is queued"

    export_build(export_id=export.id)
    fragment = hx_get(client, f"/p/shop/exports/{export.id}/").content.decode()

    export.refresh_from_db()
    assert "hx-trigger" not in fragment, "polling stops once the export is built"
    assert "<html" not in fragment, "HTMX gets the status panel alone"
    assert export.sha256 in fragment
    assert f"/p/shop/exports/{export.id}/download" in fragment
    shown = fragment.replace("<wbr>", "")  # labels may wrap after their underscores
    assert "lost_or_stolen_card" in shown, "the manifest's label distribution is shown"


def test_the_form_passes_every_filter_and_option_to_the_export(client, project):
    login(client, project, "reviewer")
    category = ErrorCategoryFactory(project=project, title="lost cards")
    point = improvement_create(
        project=project, categories=[category], actor=None, title="Relabel", kind="training_data"
    )

    client.post(
        "/p/shop/exports/",
        form_data(
            format="parquet",
            resolution="unanimous",
            categories=[category.id],
            improvement_points=[point.id],
            model_versions=["v1"],
            labels=["card_arrival", "exchange_rate"],
            since="2024-01-01T00:00",
            until="2024-02-01T12:30",
            reviewed_only="on",
            sources=["customer"],
            validation="0.25",
            seed="7",
        ),
    )

    export = DatasetExport.objects.get(project=project)
    assert export.format == "parquet" and export.resolution == "unanimous"
    assert export.filters == {
        "categories": [category.id],
        "improvement_points": [point.id],
        "model_versions": ["v1"],
        "labels": ["card_arrival", "exchange_rate"],
        "since": "2024-01-01T00:00:00+00:00",
        "until": "2024-02-01T12:30:00+00:00",
        "reviewed_only": True,
        "sources": ["customer"],
    }
    assert export.split == {"validation": 0.25, "seed": 7}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"since": "2024-02-01T00:00", "until": "2024-01-01T00:00"}, "since", BAD_WINDOW),
        ({"validation": "1.5"}, "validation", "between 0 and 1"),
        ({"format": "xlsx"}, "format", "Select a valid choice"),
        ({"labels": ["<b>not-a-label</b>"]}, "labels", "not one of the available choices"),
        ({"categories": ["999999"]}, "categories", "Select a valid choice"),
    ],
)
def test_a_bad_form_names_the_field_and_creates_nothing(client, project, fields, field, message):
    login(client, project, "reviewer")

    response = client.post("/p/shop/exports/", form_data(**fields))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "<b>not-a-label</b>" not in response.content.decode()
    assert not DatasetExport.objects.exists()


def test_another_projects_category_cannot_be_chosen(client, project):
    login(client, project, "reviewer")
    foreign = ErrorCategoryFactory(project=ProjectFactory(), title="theirs")

    response = client.post("/p/shop/exports/", form_data(categories=[foreign.id]))

    assert "categories" in response.context["form"].errors
    assert not DatasetExport.objects.exists()


def test_viewers_see_the_list_and_an_export_but_cannot_create_or_download(client, project):
    export = export_request(project=project, format="jsonl")
    export_build(export_id=export.id)
    login(client, project, "viewer")

    listing = client.get("/p/shop/exports/").content.decode()
    detail = client.get(f"/p/shop/exports/{export.id}/").content.decode()

    assert f"/p/shop/exports/{export.id}/" in listing
    assert 'id="new-export"' not in listing, "viewers get no form"
    assert "/download" not in detail and export.sha256 in detail
    assert client.post("/p/shop/exports/", form_data()).status_code == 403
    assert client.get(f"/p/shop/exports/{export.id}/download").status_code == 403
    assert DatasetExport.objects.count() == 1


def test_a_reviewer_downloads_the_file_and_the_download_is_audited(client, project):
    export = export_request(project=project, format="csv")
    export_build(export_id=export.id)
    user = login(client, project, "reviewer")

    response = client.get(f"/p/shop/exports/{export.id}/download")

    body = b"".join(response.streaming_content)
    frame = pd.read_csv(io.BytesIO(body))
    assert response.status_code == 200
    assert "shop-export-v1.csv" in response["Content-Disposition"]
    assert len(frame) == 3 and set(frame.corrected_label) == {"lost_or_stolen_card"}
    assert AuditEvent.objects.filter(
        action="export_downloaded", target_id=export.id, actor=user
    ).exists()


def test_another_projects_export_is_not_found_under_this_project(client, project):
    theirs = export_request(project=ProjectFactory(), format="csv")
    export_build(export_id=theirs.id)
    login(client, project, "admin")

    assert client.get(f"/p/shop/exports/{theirs.id}/").status_code == 404
    assert client.get(f"/p/shop/exports/{theirs.id}/download").status_code == 404


def test_non_members_get_a_404_for_the_export_pages(client, project):
    client.force_login(UserFactory())

    assert client.get("/p/shop/exports/").status_code == 404


def test_the_category_and_improvement_buttons_open_the_form_prefilled(client, project):
    login(client, project, "reviewer")
    category = ErrorCategoryFactory(project=project, title="lost cards")
    other = ErrorCategoryFactory(project=project, title="exchange rates")
    ItemAssignment.objects.create(feedback=Feedback.objects.first(), category=category)
    point = improvement_create(
        project=project, categories=[category], actor=None, title="Relabel", kind="training_data"
    )

    category_page = client.get(f"/p/shop/categories/{category.id}/").content.decode()
    point_page = client.get(f"/p/shop/improvements/{point.id}/").content.decode()
    link = f"/p/shop/exports/?categories={category.id}#new-export"
    point_link = f"/p/shop/exports/?improvement_points={point.id}#new-export"
    assert link in category_page and point_link in point_page

    form = client.get(f"/p/shop/exports/?categories={category.id}").context["form"]
    html = str(form["categories"])
    assert f'value="{category.id}" selected' in html
    assert f'value="{other.id}" selected' not in html
    point_form = client.get(f"/p/shop/exports/?improvement_points={point.id}").context["form"]
    assert f'value="{point.id}" selected' in str(point_form["improvement_points"])


def test_the_nav_links_to_the_exports_page(client, project):
    login(client, project, "viewer")

    page = client.get("/p/shop/exports/").content.decode()

    assert 'href="/p/shop/exports/" aria-current="page"' in page


def test_a_failed_export_shows_its_error_and_no_download(client, project):
    export = export_request(project=project, format="csv")
    DatasetExport.objects.filter(id=export.id).update(status="failed", error="boom <script>")
    login(client, project, "reviewer")

    page = client.get(f"/p/shop/exports/{export.id}/").content.decode()

    assert "boom &lt;script&gt;" in page and "/download" not in page
    assert "hx-trigger" not in page


def test_the_manifest_json_on_the_page_matches_the_stored_manifest(client, project):
    export = export_request(project=project, format="jsonl")
    export_build(export_id=export.id)
    login(client, project, "viewer")

    response = client.get(f"/p/shop/exports/{export.id}/")

    export.refresh_from_db()
    assert json.loads(response.context["manifest_json"]) == export.manifest


# --- reference datasets -------------------------------------------------------------------------


def upload_reference(client, data=b"text\nwhere is card 1\n", name="train.csv", column="text"):
    upload = io.BytesIO(data)
    upload.name = name
    return client.post("/p/shop/exports/references", {"file": upload, "text_column": column})


def test_a_reviewer_uploads_a_reference_dataset_and_exports_against_it(client, project):
    login(client, project, "reviewer")

    response = upload_reference(client)

    dataset = project.references.get()
    assert response.status_code == 302 and response["Location"] == "/p/shop/exports/#references"
    assert dataset.status == "queued", "the request stores the file; a worker reads it"
    reference_read(reference_id=dataset.id)
    dataset.refresh_from_db()
    page = client.get("/p/shop/exports/").content.decode()
    assert "train.csv" in page and dataset.sha256[:10] in page
    client.post("/p/shop/exports/", form_data(reference=dataset.id, reference_handling="exclude"))
    export = DatasetExport.objects.get(project=project)
    assert export.options["reference"] == dataset.id
    export_build(export_id=export.id)
    export.refresh_from_db()
    # "where is card 1" stands for all three inputs: numbers do not count.
    assert export.row_count == 0 and export.manifest["excluded"]["in_reference"] == 3


@pytest.mark.parametrize(
    "data,name,column,field,words",
    [
        (b"text\nhi\n", "train.xlsx", "text", "file", ".parquet"),
        (b"", "train.csv", "text", "file", "empty"),
        (b"text\nhi\n", "train.csv", " ", "text_column", "required"),
    ],
)
def test_a_bad_reference_file_is_refused_with_the_reason_and_nothing_kept(
    client, project, data, name, column, field, words
):
    login(client, project, "reviewer")

    response = upload_reference(client, data, name, column)

    assert response.status_code == 400
    assert words in " ".join(response.context["upload_form"].errors[field])
    assert not project.references.exists()


def test_a_viewer_cannot_upload_a_reference_dataset(client, project):
    login(client, project, "viewer")

    assert upload_reference(client).status_code == 403
    assert not project.references.exists()
