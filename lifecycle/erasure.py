"""Erasure of one customer's data in a project (GDPR Art. 17, Korea's PIPA): request, run,
sweep. What is removed, and how, is in the step modules (records, categories, imports,
exports); this module is the job around them (core.jobs).

What stays and what goes (README, "Erasing a customer's data"):
- The customer's feedback texts and their predictions' inputs (`input_text`, `input_data`)
  are blanked, irreversibly, in place: the rows stay, so counts, rates, rollups and category
  sizes are unchanged (numbers are not personal). A complaint's text becomes ERASED_TEXT
  (a complaint must have a text, and this one has no words, so it never shapes a category).
- Their stored sentence vectors are deleted; category keywords, representatives and automatic
  titles built from their words are recomputed without them; the LSA vocabulary and learned
  boilerplate kept for placing new feedback lose the words only they used.
- Stored import files holding their rows lose them (a draft is rewritten without them, a
  finished job's leftover file is deleted), and so do those imports' report lines.
- Every export whose file holds their rows is rebuilt as a new version without them (same
  snapshot time), its manifest naming the erasure; the old file is deleted.

Guarantees: idempotent (a second run finds nothing left and counts zeros), the database part
in one transaction, the customer named only by the keyed hash of their reference (in the row,
the audit log and the logs). It waits (stays QUEUED, republished by the sweeper) while an
import or an export of the project is in flight, since those could bring their rows back.
"""

import logging
import time
import uuid
from functools import partial

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from core.actors import user_or_none
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
from core.publish import publish
from feedback.keys import customer_ref_hash
from feedback.models import ImportJob, Project
from triage.models import DatasetExport

from . import categories, exports, imports, records
from .models import Erasure

logger = logging.getLogger(__name__)

REQUIRED = gettext_noop("This field is required.")
TOO_LONG = gettext_noop("At most 200 characters.")
MAX_REF = 200  # as ingest's customer_ref


class ErasureInvalid(Exception):
    """The request cannot be taken; `errors` is field -> [messages]."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def customer_hash(*, project: Project, customer_ref: str) -> str:
    """The keyed hash ingest stores for this reference (feedback.keys)."""
    return customer_ref_hash(
        project_id=project.id, customer_ref=customer_ref, secret=settings.VOC_CUSTOMER_REF_KEY
    )


def erasure_request(
    *, project: Project, customer_ref, source: str, actor=None, api_key=None
) -> Erasure:
    """Queue the erasure of the customer with this reference (as ingest received it; not
    trimmed, since ingest does not trim either). Published after commit; audited as
    `erasure_requested` with the keyed hash only. Raises ErasureInvalid naming the field."""
    if not isinstance(customer_ref, str) or not customer_ref:
        raise ErasureInvalid({"customer_ref": [gettext(REQUIRED)]})
    if len(customer_ref) > MAX_REF:
        raise ErasureInvalid({"customer_ref": [gettext(TOO_LONG)]})
    hashed = customer_hash(project=project, customer_ref=customer_ref)
    user = user_or_none(actor)
    with transaction.atomic():
        erasure = Erasure.objects.create(
            project=project, customer_hash=hashed, source=source, requested_by=user, api_key=api_key
        )
        audit(
            project=project,
            actor=user,
            action="erasure_requested",
            target=erasure,
            customer_hash=hashed,
            source=source,
            **({"api_key": api_key.prefix} if api_key else {}),
        )
        transaction.on_commit(partial(publish, Erasure.TASK_NAME, erasure.id))
    return erasure


def _busy(project_id: int) -> bool:
    """An import or export in flight could write the customer's rows after we looked."""
    active = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
    return (
        ImportJob.objects.filter(project_id=project_id, status__in=active).exists()
        or DatasetExport.objects.filter(project_id=project_id, status__in=active).exists()
    )


def _wait(erasure: Erasure) -> bool:
    """Hand the job back to the queue without using an attempt; the sweeper publishes it
    again after VOC_JOB_REPUBLISH_SECONDS (the wait)."""
    return bool(
        Erasure.objects.filter(
            id=erasure.id, status=Erasure.Status.RUNNING, task_id=erasure.task_id
        ).update(
            status=Erasure.Status.QUEUED,
            task_id="",
            queued_at=timezone.now(),
            attempts=F("attempts") - 1,
        )
    )


def erasure_run(*, erasure_id: int, task_id: str = "") -> str:
    """Claim the erasure (core.jobs) and do it. Returns the final status, "waiting" when an
    import or export of the project is in flight (the job is queued again), "busy" or
    "skipped" when this message has nothing to do."""
    claim = job_claim(Erasure, erasure_id, task_id or uuid.uuid4().hex)
    if claim is not Claim.TAKEN:
        return "busy" if claim is Claim.BUSY else "skipped"
    erasure = Erasure.objects.select_related("project").get(id=erasure_id)
    if _busy(erasure.project_id):
        _wait(erasure)
        logger.info("erasure %s waits for the project's imports and exports", erasure_id)
        return "waiting"
    try:
        with JobHeartbeat(erasure):
            _erase(erasure)
    except JobLost:
        logger.info("erasure %s was taken over; this run stops", erasure_id)
        return "skipped"
    except DatabaseError:
        raise  # transient: the job stays RUNNING and the sweeper gives it to another worker
    except Exception:
        # Never the customer's text or reference in the log: only what failed, by id.
        logger.exception("erasure %s failed", erasure_id)
        job_fail(erasure)
        return Erasure.Status.FAILED
    return Erasure.Status.SUCCEEDED


def _erase(erasure: Erasure) -> None:
    project, hashed = erasure.project, erasure.customer_hash
    customer = records.customer_load(project=project, customer_hash=hashed)
    # Files first: they cannot join the transaction, and they are found by the reference's
    # hash and request ids, which a later run still knows.
    erasure.import_rows = imports.import_files_scrub(customer=customer)
    with transaction.atomic():
        erasure.feedback_texts, erasure.prediction_inputs = records.texts_blank(customer=customer)
        erasure.vectors = records.vectors_delete(customer=customer)
        erasure.categories_recomputed = categories.categories_recompute(customer=customer)
        records.derived_text_scrub(customer=customer)
        erasure.scrubbed_at = timezone.now()
        job_progress(erasure, scrubbed_at=erasure.scrubbed_at, **_counts(erasure))
    erasure.exports_rebuilt = exports.exports_rebuild(customer=customer, erasure=erasure)
    with transaction.atomic():
        job_finish(erasure, Erasure.Status.SUCCEEDED, **_counts(erasure))
        audit(
            project=project,
            actor=erasure.requested_by,
            action="customer_erased",
            target=erasure,
            customer_hash=hashed,
            **_counts(erasure),
        )


def _counts(erasure: Erasure) -> dict[str, int]:
    return erasure.counts


def erasure_run_now(*, erasure: Erasure) -> Erasure:
    """Run a queued erasure in this process (the management command), waiting while the
    project's imports or exports are in flight."""
    while True:
        outcome = erasure_run(erasure_id=erasure.id, task_id=f"command-{uuid.uuid4().hex}")
        if outcome != "waiting":
            break
        time.sleep(settings.VOC_JOB_HEARTBEAT_SECONDS / 10)
    erasure.refresh_from_db()
    return erasure


def erasures_sweep() -> SweepCounts:
    """Requeue erasures whose worker died, republish those whose message was lost or that
    wait for the project's imports and exports (core.jobs)."""
    return jobs_sweep(Erasure)


def erasure_get(*, project: Project, erasure_id: int) -> Erasure | None:
    """An erasure of the project, or None (another project's is as good as missing)."""
    return Erasure.objects.filter(project=project, id=erasure_id).first()


def erasures_recent(*, project: Project, limit: int = 20):
    return Erasure.objects.filter(project=project).select_related("requested_by")[:limit]
