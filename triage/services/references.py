"""Reference datasets: upload the team's training set so exports can mark or leave out the
rows it already holds. The request only stores the file and queues the dataset; a worker
reads it into keys (reference_read.py, with triage/exports/reference.py)."""

import os
from functools import partial

import numpy as np
from django.db import transaction

from core import files
from core.actors import user_or_none
from core.audit import audit
from core.publish import publish
from feedback.models import Project

from ..exports import reference
from ..exports.reference import ReferenceInvalid
from ..models import ReferenceDataset

NO_COLUMN_NAME = "Name the column that holds the input texts."
EMPTY_FILE = "The file is empty."

__all__ = [
    "ReferenceInvalid",
    "reference_delete",
    "reference_files_delete",
    "reference_keys",
    "reference_upload",
]


def reference_upload(
    *, project: Project, upload, text_column: str, actor=None, api_key=None
) -> ReferenceDataset:
    """Store an uploaded file (a Django UploadedFile) and queue a reference dataset that a
    worker reads after commit (`reference_read`). Does not read the file: a spooled upload
    is moved into the storage (or copied in chunks), so the request takes the same time
    whatever its size. Raises ReferenceInvalid naming the field at fault for what can be
    told without reading (the column's name, the file's type, an empty file); the rest is
    the job's outcome. Audited."""
    column = (text_column or "").strip()
    errors: dict[str, list[str]] = {}
    if not column:
        errors["text_column"] = [NO_COLUMN_NAME]
    try:
        kind = reference.file_format(upload.name or "")
    except ReferenceInvalid as invalid:
        errors.update(invalid.errors)
    else:
        if not upload.size:
            errors["file"] = [EMPTY_FILE]
    if errors:
        raise ReferenceInvalid(errors)
    user = user_or_none(actor)
    dataset = ReferenceDataset(
        project=project,
        # Shown on pages, never used as a path; a NUL cannot be stored.
        name=os.path.basename(upload.name).replace("\x00", "")[:200],
        text_column=column[:200],
        format=kind,
        size_bytes=upload.size,
        created_by=user,
    )
    dataset.upload.save("upload", upload, save=False)
    try:
        with transaction.atomic():
            dataset.save()
            audit(
                project=project,
                actor=user,
                action="reference_uploaded",
                target=dataset,
                name=dataset.name,
                size_bytes=dataset.size_bytes,
                **({"api_key": api_key.prefix} if api_key is not None else {}),
            )
            transaction.on_commit(partial(publish, ReferenceDataset.TASK_NAME, dataset.id))
    except Exception:
        dataset.upload.storage.delete(dataset.upload.name)
        raise
    return dataset


def reference_keys(dataset: ReferenceDataset) -> np.ndarray:
    """The dataset's sorted keys (the file its job wrote; never a path from a request)."""
    with files.open_read(dataset.keys.name) as stored:
        return np.load(stored, allow_pickle=False)


def reference_files_delete(*names: str) -> None:
    files.delete(*names)


def reference_delete(*, dataset: ReferenceDataset, actor=None, api_key=None) -> None:
    """Delete a reference dataset, its keys and its upload if not read yet (a worker reading
    it stops at its next progress write). Exports built with it keep their manifest (which
    names it); an export still queued with it fails saying so. Audited."""
    names = (dataset.keys.name, dataset.upload.name)
    with transaction.atomic():
        audit(
            project=dataset.project,
            actor=user_or_none(actor),
            action="reference_deleted",
            target=dataset,
            name=dataset.name,
            sha256=dataset.sha256,
            **({"api_key": api_key.prefix} if api_key is not None else {}),
        )
        dataset.delete()
        transaction.on_commit(partial(reference_files_delete, *names))
