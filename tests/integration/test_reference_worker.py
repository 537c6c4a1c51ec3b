"""Reference datasets read by a real Celery worker on Redis and PostgreSQL: the upload answers
before the read, the page shows its progress, and a worker killed mid-read (SIGKILL, no
chance to clean up) is replaced: the sweeper requeues the read and the next worker does it
whole."""

import glob
import os
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.conftest import Worker, purge_broker, wait_for
from tests.factories import ProjectFactory
from tests.helpers import login
from triage.models import ReferenceDataset
from triage.services.reference_read import references_sweep
from triage.services.references import reference_keys

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Several seconds of reading: enough to kill the worker half-way.
ROWS = 600_000


def word(n: int) -> str:
    """A distinct word per n (numbers do not count in a key: letters tell rows apart)."""
    letters = ""
    while True:
        n, digit = divmod(n, 26)
        letters += "abcdefghijklmnopqrstuvwxyz"[digit]
        if not n:
            return letters


def training_csv(rows: int) -> bytes:
    lines = ["text,label"] + [f"where is my card {word(i)},card_arrival" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def state(dataset_id: int) -> ReferenceDataset:
    return ReferenceDataset.objects.get(id=dataset_id)


def test_an_upload_is_read_by_a_worker_and_read_again_after_the_worker_is_killed(
    client, tmp_path, figures
):
    project = ProjectFactory(slug="refs")
    login(client, project, "reviewer")
    purge_broker()
    (tmp_path / "first").mkdir()
    worker = Worker(tmp_path / "first").start()
    try:
        upload = tmp_path / "train.csv"
        upload.write_bytes(training_csv(ROWS))
        with open(upload, "rb") as handle:
            response = client.post(
                "/p/refs/exports/references", {"file": handle, "text_column": "text"}
            )
        dataset = project.references.get()
        assert response.status_code == 302
        assert dataset.status in ("queued", "running") and dataset.rows < ROWS, "not read yet"

        running = wait_for(
            lambda: (d := state(dataset.id)).status == "running" and d.rows > 0 and d,
            timeout=60,
            interval=0.05,
        )
        fragment = client.get(
            f"/p/refs/exports/references/{dataset.id}", HTTP_HX_REQUEST="true"
        ).content.decode()
        worker.kill()  # the whole worker, at once
    finally:
        worker.stop()
    killed = state(dataset.id)
    assert "<progress" in fragment and "hx-get" in fragment
    assert killed.status == "running" and 0 < killed.rows < ROWS, "killed half-way"
    assert 0 < running.progress < 1

    # Time passes without a heartbeat: the beat's sweeper gives the read to a new worker.
    ReferenceDataset.objects.filter(id=dataset.id).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert references_sweep().requeued == 1
    (tmp_path / "second").mkdir()
    second = Worker(tmp_path / "second").start()
    try:
        done = wait_for(lambda: (d := state(dataset.id)).status == "succeeded" and d, timeout=180)
    finally:
        second.stop()

    keys = reference_keys(done)
    folder = ReferenceDataset.keys.field.storage.path(f"references/{project.id}")
    figures.update(rows=ROWS, attempts=done.attempts, files_left=sorted(os.listdir(folder)))
    assert (done.rows, done.skipped, done.key_count, done.attempts) == (ROWS, 0, ROWS, 2)
    assert len(keys) == ROWS and bool(np.all(keys[1:] > keys[:-1])), "sorted, distinct"
    assert not done.upload, "the upload is deleted once read"
    assert glob.glob(os.path.join(folder, "*")) == [done.keys.path], "no partial keys left"
