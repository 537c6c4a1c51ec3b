"""The client library against the app served live on PostgreSQL: what it logs arrives once."""

import pytest
import requests
from voc_triage_client import VocApiError, VocClient

from feedback.models import Feedback, Prediction
from feedback.services import api_key_create
from tests.client.conftest import FAST
from tests.factories import ProjectFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_project(transactional_db):
    project = ProjectFactory(labels=["track_order", "refund", "cancel"])
    _, key = api_key_create(project=project, scopes=["ingest"])
    return project, key


@pytest.fixture
def connect(live_server, live_project):
    project, key = live_project
    made = []

    def connect(base_url=None, **options):
        client = VocClient(
            base_url or live_server.url,
            key,
            project.slug,
            model_version="v3",
            **{**FAST, **options},
        )
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close(timeout=0)


def log_predictions(client, n, prefix="req-"):
    for i in range(n):
        assert client.log_prediction(
            request_id=f"{prefix}{i}", input_text=f"where is my parcel {i}",
            predicted_label="track_order", confidence=0.62,
            scores={"track_order": 0.62, "refund": 0.3}, latency_ms=41.0,
            metadata={"channel": "app"}, customer_ref=f"user-{i % 5}",
        )  # fmt: skip


def test_what_is_logged_is_stored_once(connect, live_project):
    project, _ = live_project
    client = connect(batch_size=200)
    log_predictions(client, 450)
    for i in range(0, 450, 3):
        client.log_feedback(kind="correction", request_id=f"req-{i}", corrected_label="refund")
    client.log_feedback(kind="complaint", text="the parcel never came")

    assert client.flush(20) is True

    assert Prediction.objects.filter(project=project).count() == 450
    assert Feedback.objects.filter(project=project).count() == 151
    stored = Prediction.objects.get(project=project, request_id="req-7")
    assert (stored.confidence, stored.metadata, stored.model_version.version) == (
        0.62, {"channel": "app"}, "v3",
    )  # fmt: skip
    assert client.stats() == {
        "queued": 0, "sent": 601, "duplicates": 0, "rejected": 0, "retried": 0,
        "dropped": 0, "spooled": 0,
    }  # fmt: skip


def test_a_record_logged_again_is_counted_as_a_duplicate(connect, live_project):
    project, _ = live_project
    client = connect()
    log_predictions(client, 20)
    client.log_feedback(kind="complaint", text="late", external_id="ticket-1")
    assert client.flush(10)

    log_predictions(client, 20)
    client.log_feedback(kind="complaint", text="late", external_id="ticket-1")
    assert client.flush(10)

    assert client.stats()["sent"] == 21
    assert client.stats()["duplicates"] == 21
    assert Prediction.objects.filter(project=project).count() == 20
    assert Feedback.objects.filter(project=project).count() == 1


def test_rejected_items_are_counted_and_the_rest_delivered(connect, live_project, caplog):
    project, _ = live_project
    client = connect()
    log_predictions(client, 5)
    # a label outside the project's label set: only the server knows
    client.log_prediction(
        request_id="odd", input_text="q", predicted_label="not-a-label", model_version="v3"
    )
    client.log_feedback(kind="correction", request_id="unknown-request", corrected_label="refund")
    client.log_feedback(kind="correction", request_id="req-1", corrected_label="refund")

    with caplog.at_level("WARNING", logger="voc_triage_client"):
        assert client.flush(10) is True

    stats = client.stats()
    assert (stats["sent"], stats["rejected"], stats["retried"]) == (6, 2, 0)
    assert Prediction.objects.filter(project=project).count() == 5
    assert list(
        Feedback.objects.filter(project=project).values_list("corrected_label", flat=True)
    ) == ["refund"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "odd" in messages and "unknown-request" in messages


def test_the_feedback_link_opens(connect, settings):
    settings.VOC_PUBLIC_BASE_URL = ""  # the link names the address the request came to
    client = connect(flush_interval=60)
    log_predictions(client, 1)

    url = client.feedback_link("req-0")  # sends the queued prediction first

    assert "/f/" in url
    assert requests.get(url, timeout=10).status_code == 200
    with pytest.raises(VocApiError) as error:
        client.feedback_link("never-logged")
    assert error.value.status == 404


def test_an_outage_delays_records_without_losing_or_doubling_them(
    connect, live_server, live_project, closed_port_url
):
    project, _ = live_project
    client = connect(base_url=closed_port_url)
    log_predictions(client, 300)
    client.log_feedback(kind="correction", request_id="req-3", corrected_label="cancel")

    assert client.flush(timeout=0.5) is False
    stats = client.stats()
    assert stats["queued"] == 301 and stats["retried"] >= 1 and stats["sent"] == 0

    client.base_url = live_server.url  # the server is back
    assert client.flush(10) is True

    assert client.stats()["sent"] == 301
    assert Prediction.objects.filter(project=project).count() == 300
    assert Feedback.objects.filter(project=project, corrected_label="cancel").count() == 1


def test_the_spool_survives_a_new_client(connect, live_project, closed_port_url, tmp_path):
    project, _ = live_project
    spool = tmp_path / "voc-spool.sqlite3"
    first = connect(base_url=closed_port_url, spool_path=spool, spool_after=0.1, max_queue=50)
    log_predictions(first, 120)  # 70 past the queue bound: spooled at once
    first.log_feedback(kind="rating", request_id="req-0", rating=-1)

    assert first.flush(timeout=0.5) is False
    first.close(timeout=0)  # as if the process ended: all 121 on disk
    assert first.stats()["spooled"] == 121
    assert first.stats()["dropped"] == 0

    second = connect(spool_path=spool)
    assert second.flush(10) is True

    assert Prediction.objects.filter(project=project).count() == 120
    assert Feedback.objects.filter(project=project, rating=-1).count() == 1
    assert second.stats()["spooled"] == 0
    assert second.stats()["sent"] == 121
