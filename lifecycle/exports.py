"""Dataset exports holding the customer's rows: each rebuilt as a new version without them,
the old file deleted.

An export's file holds their rows when it was built before their inputs were erased (the
earliest `scrubbed_at` of an erasure of this customer) and its selection has corrections about
their predictions. The new version is requested through the export service with the old one's
filters and policies and the same snapshot time (`as_of`), so it differs only by their rows
(a build leaves erased predictions out: triage/selectors_exports.py); its options and manifest
name the erasure and the version it replaces. The old row stays, for its numbers and its audit
trail, without a file; its manifest says which version replaced it.
"""

import logging
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Min

from triage.models import DatasetExport
from triage.selectors_exports import export_selects_predictions
from triage.services.exports import ExportInvalid, export_request

from .models import Erasure
from .records import Customer, batches

logger = logging.getLogger(__name__)


def _holds_them(export: DatasetExport, customer: Customer) -> bool:
    return any(
        export_selects_predictions(export=export, prediction_ids=ids)
        for ids in batches(customer.prediction_ids)
    )


def _filters(filters: dict) -> dict:
    """Stored filters back in the shape the export service takes (times as datetimes)."""
    return {
        **filters,
        **{
            key: datetime.fromisoformat(filters[key])
            for key in ("since", "until")
            if filters.get(key)
        },
    }


def exports_rebuild(*, customer: Customer, erasure: Erasure) -> int:
    """Request a rebuild of every export that holds their rows and delete its file. Returns
    how many were requested (built after commit by the export workers)."""
    if not customer.prediction_ids:
        return 0
    erased_at = Erasure.objects.filter(
        project=customer.project, customer_hash=customer.customer_hash
    ).aggregate(first=Min("scrubbed_at"))["first"]
    candidates = DatasetExport.objects.filter(
        project=customer.project,
        status=DatasetExport.Status.SUCCEEDED,
        started_at__lt=erased_at,
    ).exclude(file="")
    rebuilt = 0
    for old in candidates.order_by("number"):
        if not _holds_them(old, customer):
            continue
        with transaction.atomic():
            new = _request(old, erasure)
            manifest = {
                **old.manifest,
                "erased": {"erasure": erasure.id, "rebuilt_as": new.label if new else None},
            }
            DatasetExport.objects.filter(id=old.id).update(file="", manifest=manifest)
            transaction.on_commit(partial(old.file.storage.delete, old.file.name))
        rebuilt += new is not None
    return rebuilt


def _request(old: DatasetExport, erasure: Erasure) -> DatasetExport | None:
    options = old.options or {}
    try:
        new = export_request(
            project=old.project,
            format=old.format,
            filters=_filters(old.filters),
            resolution_policy=old.resolution,
            split=old.split or None,
            flagged=options.get("flagged", "ignore"),
            reference=options.get("reference"),
            reference_handling=options.get("reference_handling", "mark"),
        )
    except ExportInvalid:
        # Its filters name something deleted since (a category, a reference dataset): the
        # same export cannot be made again. Its file still goes.
        logger.warning("export %s cannot be rebuilt for erasure %s", old.id, erasure.id)
        return None
    new.options = {**new.options, "rebuild_of": old.label, "erasure": erasure.id}
    new.as_of = old.as_of
    DatasetExport.objects.filter(id=new.id).update(options=new.options, as_of=new.as_of)
    return new
