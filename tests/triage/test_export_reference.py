"""Reference datasets: the team's training set read from CSV, JSON Lines or Parquet into
keys, and exports that mark or leave out the rows it already holds."""

import hashlib
import io
import json

import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import AuditEvent
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory
from tests.helpers import reference_ready
from triage.exports.reference import ReferenceInvalid, contains, read_keys, reference_key
from triage.services.export_build import export_build
from triage.services.exports import ExportInvalid, export_request
from triage.services.references import reference_keys, reference_upload

TEXTS = ["Where is my card?", "I was charged twice", "  where is MY card  "]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out)
    return out.getvalue()


# --- reading files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,data",
    [
        ("csv", ("text,label\n" + "".join(f'"{t}",x\n' for t in TEXTS)).encode()),
        ("jsonl", "".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in TEXTS).encode()),
        ("parquet", parquet_bytes(pd.DataFrame({"text": TEXTS, "label": "x"}))),
    ],
)
def test_each_format_gives_the_keys_of_its_inputs_near_duplicates_as_one(kind, data):
    keys = read_keys(io.BytesIO(data), kind=kind, column="text")

    assert keys.rows == 3 and keys.skipped == 0
    assert len(keys.keys) == 2, "the first and third text differ only in case and spacing"
    assert contains(keys.keys, reference_key("where is my card"))
    assert contains(keys.keys, reference_key("I WAS CHARGED TWICE!"))
    assert not contains(keys.keys, reference_key("I was charged three times"))


def test_rows_without_a_usable_text_are_skipped_by_line_and_the_others_kept():
    lines = [
        json.dumps({"text": "card lost"}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"label": "no text"}),
        json.dumps({"text": 42}),
        json.dumps({"text": "   "}),
        json.dumps({"text": "card stolen"}),
    ]
    keys = read_keys(io.BytesIO("\n".join(lines).encode()), kind="jsonl", column="text")

    assert keys.rows == 7 and keys.skipped == 5 and len(keys.keys) == 2
    assert keys.problems == [
        "line 2: not a JSON object",
        "line 3: not a JSON object",
        "line 4: no 'text' field",
        "line 5: 'text' is int, not text",
        "line 6: 'text' has no words",
    ]


@pytest.mark.parametrize(
    "kind,data,field,words",
    [
        ("csv", b"query,label\nhi,x\n", "text_column", "no column 'text'; its columns: 'query'"),
        ("csv", b"", "file", "empty"),
        ("csv", b"text\n\xff\xfe\n", "file", "Not UTF-8"),
        ("jsonl", b'{"other": "x"}\n', "text_column", "No row of the file has a text"),
        ("parquet", b"PAR1 not really", "file", "Not a readable Parquet file"),
        ("parquet", parquet_bytes(pd.DataFrame({"text": [1, 2]})), "text_column", "not text"),
        ("parquet", parquet_bytes(pd.DataFrame({"query": ["a"]})), "text_column", "'query'"),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_naming_the_field(kind, data, field, words):
    with pytest.raises(ReferenceInvalid) as caught:
        read_keys(io.BytesIO(data), kind=kind, column="text")

    assert list(caught.value.errors) == [field]
    assert words in caught.value.errors[field][0]


# --- uploads and exports ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def project(db):
    """Three corrected predictions; the team already trains on the first two inputs."""
    project = ProjectFactory()
    for text in ("Where is my card?", "charged twice!!", "new question"):
        prediction = PredictionFactory(project=project, input_text=text)
        FeedbackFactory(prediction=prediction, corrected_label="card_not_working")
    return project


def upload(project, name="train.csv", data=b"text\nwhere is my card\nCharged twice\n\n", **kw):
    return reference_ready(project, data, name, **kw)


def test_an_upload_keeps_the_keys_and_what_the_file_was(project):
    data = b'text\nwhere is my card\n\nCharged twice\n""\n'
    dataset = upload(project, data=data)

    assert (dataset.rows, dataset.skipped, dataset.key_count) == (3, 1, 2)
    assert dataset.problems == ["line 5: 'text' is empty"], "numbered as an editor shows it"
    assert (
        dataset.format == "csv" and dataset.name == "train.csv" and dataset.size_bytes == len(data)
    )
    assert len(reference_keys(dataset)) == 2
    assert dataset.is_ready and dataset.sha256 == hashlib.sha256(data).hexdigest()
    assert not dataset.upload, "the uploaded file is not kept once read"
    for action in ("reference_uploaded", "reference_read"):
        assert AuditEvent.objects.filter(action=action, target_id=dataset.id).exists()


def test_an_unknown_file_type_is_refused(project):
    with pytest.raises(ReferenceInvalid) as caught:
        reference_upload(
            project=project, upload=SimpleUploadedFile("train.xlsx", b"x"), text_column="text"
        )

    assert list(caught.value.errors) == ["file"]


def built(project, **options):
    export = export_request(project=project, format="jsonl", **options)
    export_build(export_id=export.id)
    export.refresh_from_db()
    with open(export.file.path, "rb") as handle:
        return export, {row["input_text"]: row for row in map(json.loads, handle)}


def test_an_export_marks_the_rows_the_reference_holds(project):
    dataset = upload(project)

    export, rows = built(project, reference=dataset.id)

    assert {text: row["in_reference"] for text, row in rows.items()} == {
        "Where is my card?": True,
        "charged twice!!": True,
        "new question": False,
    }
    assert export.manifest["reference"] == {
        "id": dataset.id,
        "name": "train.csv",
        "sha256": dataset.sha256,
        "inputs": 2,
        "handling": "mark",
        "matched": 2,
    }
    assert export.manifest["excluded"]["in_reference"] == 0


def test_an_export_can_leave_them_out_and_count_them(project):
    dataset = upload(project)

    export, rows = built(project, reference=dataset.id, reference_handling="exclude")

    assert list(rows) == ["new question"] and export.row_count == 1
    assert export.manifest["excluded"]["in_reference"] == 2
    assert export.manifest["label_distribution"] == {"card_not_working": 1}


def test_without_a_reference_no_row_is_in_one(project):
    export, rows = built(project)

    assert {row["in_reference"] for row in rows.values()} == {False}
    assert export.manifest["reference"] is None


def test_another_projects_reference_or_a_bad_handling_is_refused_by_name(project):
    other = upload(ProjectFactory())

    with pytest.raises(ExportInvalid) as caught:
        export_request(project=project, format="csv", reference=other.id, reference_handling="drop")

    assert sorted(caught.value.errors) == ["reference", "reference_handling"]
