"""The customer's records: what belongs to them, their texts blanked, their vectors deleted,
and the words only they used scrubbed from what was derived from everyone's texts (the LSA
vocabulary and boilerplate a run keeps, category titles quoted in the audit log and in
review agendas)."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

import numpy as np
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from core.models import AuditEvent
from feedback.models import Feedback, Prediction, Project
from triage.clustering.representations import pack_arrays, unpack_arrays
from triage.models import ClusteringRun, DatasetExport, InputVector, ItemVector, ReviewSession
from triage.services.vectors import text_hash

# What a complaint's text becomes: a complaint must have a text, and this one has no word
# (\w) in it, so it never shapes keywords, boilerplate or an LSA space.
ERASED_TEXT = "[…]"
# Rows read per round trip when looking through the project's texts.
CHUNK = 5000
# Ids per IN (...) list.
ID_BATCH = 1000

WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def json_strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


@dataclass
class Customer:
    """One customer of a project, by the keyed hash of their reference, and what is theirs.
    `words` are the words of their texts that no one else's feedback in the project uses:
    anything derived from the texts that contains one of them came from this customer."""

    project: Project
    customer_hash: str
    feedback_ids: list[int] = field(default_factory=list)
    prediction_ids: list[int] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)
    # Feedback of anyone about their predictions: its vectors embed their input.
    touched_feedback_ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    words: set[str] = field(default_factory=set)

    def tainted(self, text: str) -> bool:
        """Whether a derived text (a keyword, a title, a phrase) holds a word only they used."""
        return bool(self.words) and not self.words.isdisjoint(WORD.findall(text.lower()))


def batches(ids: list, size: int = ID_BATCH):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def customer_load(*, project: Project, customer_hash: str) -> Customer:
    """Their feedback and predictions (by the hash ingest stored), their texts, and the words
    only they used. Reads the project's feedback once (text and linked input)."""
    customer = Customer(project=project, customer_hash=customer_hash)
    for feedback_id, text in Feedback.objects.filter(
        project=project, customer_hash=customer_hash
    ).values_list("id", "text"):
        customer.feedback_ids.append(feedback_id)
        if text and text != ERASED_TEXT:
            customer.texts.append(text)
    for prediction_id, request_id, input_text, input_data in Prediction.objects.filter(
        project=project, customer_hash=customer_hash
    ).values_list("id", "request_id", "input_text", "input_data"):
        customer.prediction_ids.append(prediction_id)
        customer.request_ids.add(request_id)
        if input_text:
            customer.texts.append(input_text)
        customer.texts.extend(s for s in json_strings(input_data) if s)
    for ids in batches(customer.prediction_ids):
        customer.touched_feedback_ids += list(
            Feedback.objects.filter(prediction_id__in=ids).values_list("id", flat=True)
        )
    customer.words = _own_words(customer)
    return customer


def _own_words(customer: Customer) -> set[str]:
    candidates = reduce(set.union, (words(text) for text in customer.texts), set())
    if not candidates:
        return set()
    rows = (
        Feedback.objects.filter(project=customer.project)
        .values_list("customer_hash", "text", "prediction__customer_hash", "prediction__input_text")
        .iterator(chunk_size=CHUNK)
    )
    mine = customer.customer_hash
    for owner, text, served_to, input_text in rows:
        if owner != mine and text:
            candidates -= words(text)
        if served_to != mine and input_text:
            candidates -= words(input_text)
        if not candidates:
            break
    return candidates


def texts_blank(*, customer: Customer) -> tuple[int, int]:
    """Blank their feedback texts and their predictions' inputs, irreversibly, keeping the
    rows (counts and rollups stay). Returns (feedback texts, prediction inputs) blanked now."""
    mine = Feedback.objects.filter(project=customer.project, customer_hash=customer.customer_hash)
    # The dedup key is a hash of the text: it goes with it.
    complaints = (
        mine.filter(kind=Feedback.Kind.COMPLAINT)
        .exclude(text=ERASED_TEXT)
        .update(text=ERASED_TEXT, dedup_key="")
    )
    others = mine.exclude(kind=Feedback.Kind.COMPLAINT).exclude(text="").update(text="")
    inputs = 0
    for ids in batches(customer.prediction_ids):
        inputs += (
            Prediction.objects.filter(id__in=ids)
            .exclude(input_text="", input_data__isnull=True)
            .update(input_text="", input_data=None)
        )
    return complaints + others, inputs


def vectors_delete(*, customer: Customer) -> int:
    """Delete the stored sentence vectors of their feedback and of any feedback about their
    predictions (an item's vector embeds the prediction's input too), and the review queue's
    vectors of their inputs (keyed by the text's hash: another customer's identical input
    loses its vector too, and is embedded again when it comes back)."""
    ids = sorted(set(customer.feedback_ids) | set(customer.touched_feedback_ids))
    deleted = sum(
        ItemVector.objects.filter(feedback_id__in=batch).delete()[0] for batch in batches(ids)
    )
    hashes = sorted({text_hash(text) for text in customer.texts})
    return deleted + sum(
        InputVector.objects.filter(project=customer.project, text_hash__in=batch).delete()[0]
        for batch in batches(hashes)
    )


def scrub_json(value, customer: Customer):
    """The value with every string holding one of their words replaced by ERASED_TEXT."""
    if isinstance(value, str):
        return ERASED_TEXT if customer.tainted(value) else value
    if isinstance(value, dict):
        return {
            (ERASED_TEXT if customer.tainted(str(k)) else k): scrub_json(v, customer)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_json(item, customer) for item in value]
    return value


def _mentioning(queryset, column: str, customer: Customer):
    """Rows whose JSON column mentions one of their words (a first cut in SQL)."""
    cast = queryset.annotate(as_text=Cast(column, TextField()))
    return cast.filter(reduce(or_, (Q(as_text__icontains=w) for w in sorted(customer.words))))


def derived_text_scrub(*, customer: Customer) -> None:
    """Remove their words from what keeps copies of derived texts: a run's LSA vocabulary and
    learned boilerplate (kept to place new feedback between runs), the category titles and
    keywords quoted in the audit log, frozen in review agendas and named in export manifests."""
    if not customer.words:
        return
    project = customer.project
    for run in ClusteringRun.objects.filter(project=project).exclude(model_state=None):
        state = unpack_arrays(bytes(run.model_state))
        if _state_scrub(state, customer):
            run.model_state = pack_arrays(state)
            run.save(update_fields=["model_state"])
    for run in _mentioning(ClusteringRun.objects.filter(project=project), "params", customer):
        run.params = {
            **run.params,
            "boilerplate": [
                p for p in run.params.get("boilerplate", []) if not customer.tainted(p)
            ],
        }
        run.save(update_fields=["params"])
    for event in _mentioning(AuditEvent.objects.filter(project=project), "data", customer):
        event.data = scrub_json(event.data, customer)
        event.save(update_fields=["data"])
    for review in _mentioning(ReviewSession.objects.filter(project=project), "agenda", customer):
        review.agenda = scrub_json(review.agenda, customer)
        review.save(update_fields=["agenda"])
    # An export's manifest names the categories of its rows by their titles at the time.
    for export in _mentioning(DatasetExport.objects.filter(project=project), "manifest", customer):
        titles = scrub_json(export.manifest.get("categories") or {}, customer)
        export.manifest = {**export.manifest, "categories": titles}
        export.save(update_fields=["manifest"])


def _state_scrub(state: dict, customer: Customer) -> bool:
    """Drop their words from a run's state in place: LSA terms (with their idf and component
    columns, so the space stays consistent) and boilerplate phrases."""
    changed = False
    if "boilerplate" in state:
        phrases = state["boilerplate"].tolist()
        kept = [p for p in phrases if not customer.tainted(p)]
        if len(kept) != len(phrases):
            state["boilerplate"] = np.array(kept, dtype=str)
            changed = True
    if "lsa_vocabulary" in state:
        vocabulary = state["lsa_vocabulary"].tolist()
        keep = np.array([not customer.tainted(term) for term in vocabulary], dtype=bool)
        if not keep.all():
            state["lsa_vocabulary"] = state["lsa_vocabulary"][keep]
            state["lsa_idf"] = state["lsa_idf"][keep]
            if "lsa_components" in state:
                state["lsa_components"] = state["lsa_components"][:, keep]
            changed = True
    return changed
