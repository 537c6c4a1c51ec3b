"""Building a dataset export in a Celery worker: claim, stream, write, manifest, sweep.

The request side (validation, numbering, the snapshot's `as_of`) is in `exports.py`; the
lifecycle (claim, heartbeat, give-up) is core.jobs; the rows themselves are made by
`export_rows.RowBuilder` and streamed to the storage through the format's writer.
"""

import gc
import logging
import uuid

from django.db import DatabaseError

from core import files
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

from ..exports.writers import WRITERS
from ..models import DatasetExport, ReferenceDataset
from ..selectors_exports import export_corrections
from . import export_checks
from .export_manifest import export_manifest
from .export_rows import RowBuilder
from .exports import reference_not_ready
from .references import reference_keys

logger = logging.getLogger(__name__)

REFERENCE_GONE = (
    "Reference dataset #{id} was deleted before this export was built: request the export "
    "again with another reference dataset, or without one."
)


def export_build(*, export_id: int, task_id: str = "") -> Claim:
    """Claim a QUEUED export and build its file (core.jobs). Leaves it SUCCEEDED or FAILED;
    RUNNING (for the sweeper) only when the database fails mid-way. A second delivery of the
    same export finds nothing to claim and returns without work."""
    task_id = task_id or uuid.uuid4().hex
    claim = job_claim(DatasetExport, export_id, task_id)
    if claim is not Claim.TAKEN:
        return claim
    export = DatasetExport.objects.select_related("project", "created_by", "api_key").get(
        id=export_id
    )
    name = f"exports/{export.project_id}/{export.id}-{uuid.uuid4().hex}.{export.format}"
    # What an earlier attempt left when its worker was killed. No other build of this export
    # is alive: a message comes back only after its worker is lost or its time limit passed.
    _leftovers_remove(export)
    try:
        # The estimate behind the progress bar: the corrections the filters select.
        total = export_corrections(export=export).count()
        job_progress(export, items_total=total, items_done=0)
        check = None
        if export.options.get("flagged", "ignore") != "ignore":
            with JobHeartbeat(export):
                check = export_checks.prepare(export=export)
        reference = keys = None
        if export.options.get("reference") is not None:
            reference = ReferenceDataset.objects.filter(
                id=export.options["reference"], project=export.project
            ).first()
            if reference is None:
                job_fail(export, REFERENCE_GONE.format(id=export.options["reference"]))
                return claim
            if not reference.is_ready:  # requests refuse it; checked again, as for deletion
                job_fail(export, reference_not_ready(reference))
                return claim
            keys = reference_keys(reference)
        # Streaming beats with each batch (job_progress); only the check's preparation runs
        # long without progress, so only it needs the heartbeat thread.
        # Streamed to the storage (a multipart upload to a bucket), hashed on the way.
        with files.write_file(name) as raw:
            writer = WRITERS[export.format](raw)
            builder = RowBuilder(export, writer, check, keys)
            # The build makes millions of short-lived acyclic objects (rows, lists); the
            # cyclic collector would walk them again and again for nothing (~20 % of the time).
            collecting = gc.isenabled()
            gc.disable()
            try:
                builder.run()
            finally:
                if collecting:
                    gc.enable()
            writer.close()
        size, digest = raw.size, raw.sha256
        manifest = export_manifest(
            export,
            builder.tally,
            size=size,
            sha256=digest,
            checked=check.checked if check else None,
            reference=reference,
        )
        job_finish(
            export,
            DatasetExport.Status.SUCCEEDED,
            items_done=builder.tally.corrections,
            row_count=builder.tally.rows,
            file=name,
            size_bytes=size,
            sha256=digest,
            manifest=manifest,
        )
    except JobLost:
        logger.info("export %s was taken over; this build stops", export_id)
        files.delete(name)
    except DatabaseError:
        files.delete(name)
        raise  # transient: the export stays RUNNING and the sweeper requeues it
    except Exception:
        logger.exception("export %s failed", export_id)
        files.delete(name)
        job_fail(export)
    return claim


def _leftovers_remove(export: DatasetExport) -> None:
    files.leftovers_remove(f"exports/{export.project_id}", f"{export.id}-")


def exports_sweep() -> SweepCounts:
    """Requeue exports whose worker died, fail those that used up their attempts (and remove
    their partial files), republish exports whose message was lost (core.jobs)."""

    def remove_parts(export_id: int) -> None:
        _leftovers_remove(DatasetExport.objects.get(id=export_id))

    return jobs_sweep(DatasetExport, on_give_up=remove_parts)
