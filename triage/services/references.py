"""Reference datasets: upload the team's training set so exports can mark or leave out the
rows it already holds (triage/exports/reference.py reads the file)."""

import hashlib
import os
import tempfile
import uuid

import numpy as np
from django.db import transaction

from core.actors import user_or_none
from core.audit import audit
from feedback.models import Project

from ..exports import reference
from ..exports.reference import ReferenceInvalid
from ..models import ReferenceDataset

NO_COLUMN_NAME = "Name the column that holds the input texts."

__all__ = ["ReferenceInvalid", "reference_delete", "reference_keys", "reference_upload"]


def reference_upload(*, project: Project, upload, text_column: str, actor=None) -> ReferenceDataset:
    """Read an uploaded file (a Django UploadedFile) into a reference dataset of the
    project. Raises ReferenceInvalid naming the field at fault when the file cannot be used
    at all; rows without a usable text are skipped and listed. Audited."""
    column = (text_column or "").strip()
    if not column:
        raise ReferenceInvalid({"text_column": [NO_COLUMN_NAME]})
    kind = reference.file_format(upload.name or "")
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    keys = reference.read_keys(upload.file, kind=kind, column=column)
    storage = ReferenceDataset.keys.field.storage
    name = f"references/{project.id}/{uuid.uuid4().hex}.npy"
    path = storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=os.path.dirname(path), suffix=".part", delete=False
    ) as out:
        np.save(out, keys.keys, allow_pickle=False)
    os.replace(out.name, path)
    user = user_or_none(actor)
    try:
        with transaction.atomic():
            dataset = ReferenceDataset.objects.create(
                project=project,
                name=os.path.basename(upload.name)[:200],
                text_column=column[:200],
                format=kind,
                sha256=digest.hexdigest(),
                size_bytes=upload.size or 0,
                rows=keys.rows,
                skipped=keys.skipped,
                key_count=len(keys.keys),
                problems=keys.problems,
                keys=name,
                created_by=user,
            )
            audit(
                project=project,
                actor=user,
                action="reference_uploaded",
                target=dataset,
                name=dataset.name,
                sha256=dataset.sha256,
                rows=dataset.rows,
                skipped=dataset.skipped,
            )
    except Exception:
        os.remove(path)
        raise
    return dataset


def reference_keys(dataset: ReferenceDataset) -> np.ndarray:
    """The dataset's sorted keys (the file the upload wrote; never a path from a request)."""
    return np.load(dataset.keys.storage.path(dataset.keys.name), allow_pickle=False)


def reference_delete(*, dataset: ReferenceDataset, actor=None, api_key=None) -> None:
    """Delete a reference dataset and its keys file. Exports built with it keep their manifest
    (which names it); an export still queued with it fails saying so. Audited."""
    name = dataset.keys.name
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
        if name:
            transaction.on_commit(lambda: ReferenceDataset.keys.field.storage.delete(name))
