"""Reading an uploaded reference dataset into keys, in a Celery worker: claim, stream, keys,
sweep. The request side (storing the upload, queueing) is in `references.py`; the lifecycle
(claim, heartbeat, give-up) is core.jobs.

A read that dies (worker killed, database gone) starts again from the top when the sweeper
requeues it: a million rows take about ten seconds, so resuming mid-file would not pay for
its bookkeeping. The keys file is written whole under a new name and published by the same
update that marks the dataset ready, so an export never sees half of one.
"""

import logging
import time
import uuid

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, transaction

from core import files
from core.audit import audit
from core.jobs import (
    Claim,
    JobHeartbeat,
    JobLost,
    SweepCounts,
    job_claim,
    job_fail,
    job_finish,
    job_progress,
    jobs_sweep,
)

from ..exports import reference
from ..exports.reference import ReferenceInvalid, ReferenceKeys
from ..models import ReferenceDataset
from .references import reference_files_delete

logger = logging.getLogger(__name__)

UPLOAD_GONE = "The uploaded file is no longer there: upload it again."
TOO_SLOW = "Reading the file took longer than the worker's time limit: split it in parts."
# Progress writes at most this often (seconds): each one is also the job's heartbeat.
PROGRESS_EVERY = 1.0


def _keys_name(dataset: ReferenceDataset) -> str:
    return f"references/{dataset.project_id}/{dataset.id}-{uuid.uuid4().hex}.npy"


def _leftovers_remove(dataset: ReferenceDataset) -> None:
    """Keys files an earlier attempt of this dataset left half-written or unpublished."""
    files.leftovers_remove(f"references/{dataset.project_id}", f"{dataset.id}-", finished_too=True)


class _Progress:
    """Rows read so far and the share of the file, saved about once a second (a beat)."""

    def __init__(self, dataset: ReferenceDataset):
        self.dataset, self.last = dataset, time.monotonic()

    def __call__(self, so_far: ReferenceKeys, fraction: float) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        job_progress(
            self.dataset,
            rows=so_far.rows,
            skipped=so_far.skipped,
            bytes_read=int(fraction * self.dataset.size_bytes),
        )


def _error_text(invalid: ReferenceInvalid) -> str:
    """The field at fault and why, as the upload form would show it."""
    names = {"file": "File", "text_column": "Text column"}
    return " ".join(
        f"{names.get(field, field)}: {' '.join(messages)}"
        for field, messages in invalid.errors.items()
    )


def _discard_upload(dataset_id: int, name: str) -> None:
    """The uploaded file holds the team's training set: gone once read, or failed for good."""
    if name:
        ReferenceDataset.objects.filter(id=dataset_id, upload=name).update(upload="")
        reference_files_delete(name)


def reference_read(*, reference_id: int, task_id: str = "") -> Claim:
    """Claim a QUEUED reference dataset (core.jobs) and read its file into keys. Leaves it
    SUCCEEDED (ready: keys, sha256, rows, skipped rows by line) or FAILED with the field or
    line at fault; RUNNING (for the sweeper) only when the database fails mid-way. A second
    delivery finds nothing to claim and returns without work. Idempotent."""
    claim = job_claim(ReferenceDataset, reference_id, task_id or uuid.uuid4().hex)
    if claim is not Claim.TAKEN:
        return claim
    dataset = ReferenceDataset.objects.select_related("project").get(id=reference_id)
    upload = dataset.upload.name
    if not upload or not files.exists(upload):
        job_fail(dataset, UPLOAD_GONE)
        return claim
    # What an attempt killed before it finished left behind: no other read of it is alive.
    _leftovers_remove(dataset)
    name = _keys_name(dataset)
    try:
        job_progress(dataset, rows=0, skipped=0, bytes_read=0, problems=[])
        with JobHeartbeat(dataset):  # hashing a big file reports no progress
            digest = files.sha256_of(upload)
        with files.open_read(upload) as raw:
            keys = reference.read_keys(
                raw, kind=dataset.format, column=dataset.text_column, progress=_Progress(dataset)
            )
        with files.write_file(name) as out:
            np.save(out, keys.keys, allow_pickle=False)
        with transaction.atomic():
            job_finish(
                dataset,
                ReferenceDataset.Status.SUCCEEDED,
                sha256=digest,
                bytes_read=dataset.size_bytes,
                rows=keys.rows,
                skipped=keys.skipped,
                key_count=len(keys.keys),
                problems=keys.problems,
                keys=name,
                upload="",
            )
            audit(
                project=dataset.project,
                actor=None,
                action="reference_read",
                target=dataset,
                name=dataset.name,
                sha256=digest,
                rows=keys.rows,
                skipped=keys.skipped,
                inputs=len(keys.keys),
            )
        reference_files_delete(upload)  # committed: the keys stand for it now
    except ReferenceInvalid as invalid:
        files.delete(name)
        job_fail(dataset, _error_text(invalid))
        _discard_upload(dataset.id, upload)
    except JobLost:
        logger.info("reference %s was taken over or deleted; this read stops", reference_id)
        files.delete(name)
    except SoftTimeLimitExceeded:
        files.delete(name)
        job_fail(dataset, TOO_SLOW)
        _discard_upload(dataset.id, upload)
    except DatabaseError:
        files.delete(name)
        raise  # transient: the dataset stays RUNNING and the sweeper requeues it
    except Exception:
        logger.exception("reference %s failed", reference_id)
        files.delete(name)
        job_fail(dataset)
        _discard_upload(dataset.id, upload)
    return claim


def references_sweep() -> SweepCounts:
    """Requeue reference datasets whose worker died, fail those that used up their attempts
    (and delete their upload and partial keys), republish those whose message was lost."""

    def discard(reference_id: int) -> None:
        dataset = ReferenceDataset.objects.filter(id=reference_id).first()
        if dataset is not None:
            _leftovers_remove(dataset)
            _discard_upload(dataset.id, dataset.upload.name)

    return jobs_sweep(ReferenceDataset, on_give_up=discard)
