"""Error categories described without the customer's words: keywords, representatives and
automatic titles recomputed from the items the categories hold now, by the clustering
engine's own describe functions (triage/clustering/describe.py).

A category is recomputed when one of their items is among its representatives, or when its
keywords or titles hold a word only they used (records.Customer.words). Keywords are
recomputed over all live categories at once, as a run does (a keyword is what sets a category
apart from the others), and written only to the affected ones. A title a person wrote is kept
unless it holds one of their words; then it becomes the new automatic title again (and runs
may update it), which the audit log records.
"""

import numpy as np

from core.audit import audit
from triage import selectors
from triage.clustering import describe
from triage.clustering.text import item_text
from triage.models import ErrorCategory, ItemAssignment

from .records import Customer, batches

EMPTY_LABELS = {"predicted": {}, "corrected": {}}


def _affected(category: ErrorCategory, customer: Customer, theirs: set[int]) -> bool:
    return (
        not theirs.isdisjoint(category.representative_ids)
        or any(customer.tainted(word) for word in category.keywords)
        or customer.tainted(category.auto_title)
        or customer.tainted(category.title)
    )


def _items(project, theirs: set[int]) -> dict[int, list[tuple[int, float, str]]]:
    """category id -> [(feedback id, similarity, item text)] of the items it holds now, most
    typical first, without the customer's own items and items left without words."""
    run = selectors.latest_succeeded_run(project_id=project.id)
    boilerplate = (run.params.get("boilerplate") if run else None) or []
    placed = list(
        ItemAssignment.objects.filter(category__project=project, category__merged_into__isnull=True)
        .order_by("category_id", "-similarity", "feedback_id")
        .values_list("feedback_id", "category_id", "similarity")
    )
    texts: dict[int, str] = {}
    for ids in batches([feedback_id for feedback_id, _, _ in placed]):
        for raw in selectors.raw_items_by_id(feedback_ids=ids):
            texts[raw.id] = item_text(
                own_text=raw.own_text, input_text=raw.input_text, boilerplate=boilerplate
            )
    items: dict[int, list[tuple[int, float, str]]] = {}
    for feedback_id, category_id, similarity in placed:
        text = texts.get(feedback_id, "")
        if feedback_id not in theirs and describe.TOKEN.search(text):
            items.setdefault(category_id, []).append((feedback_id, similarity, text))
    return items


def _representatives(items: list[tuple[int, float, str]]) -> list[int]:
    if not items:
        return []
    ids, similarity, texts = zip(*items, strict=True)
    return describe.representatives(list(ids), np.array(similarity), list(texts))


def categories_recompute(*, customer: Customer) -> int:
    """Recompute the categories described with their items or words (see the module).
    Returns how many were recomputed. Runs inside the erasure's transaction."""
    project = customer.project
    theirs = set(customer.feedback_ids)
    categories = list(ErrorCategory.objects.filter(project=project))
    affected = [c for c in categories if _affected(c, customer, theirs)]
    if not affected:
        return 0
    items = _items(project, theirs)
    live = [c for c in categories if c.merged_into_id is None and not c.is_unsorted]
    texts = [[text for _, _, text in items.get(c.id, [])] for c in live]
    words = describe.keywords(texts)
    keywords = dict(zip([c.id for c in live], words, strict=True))
    phrases = dict(zip([c.id for c in live], describe.title_phrases(texts, words), strict=True))
    for category in affected:
        category.representative_ids = _representatives(items.get(category.id, []))
        if category.is_unsorted:
            category.save(update_fields=["representative_ids"])
            continue
        # A merged category holds no items: its description keeps what is not theirs.
        category.keywords = keywords.get(
            category.id, [w for w in category.keywords if not customer.tainted(w)]
        )
        category.auto_title = describe.auto_title(
            labels={**EMPTY_LABELS, **(category.labels or {})},
            keywords=category.keywords,
            display=project.label_display,
            phrase=phrases.get(category.id, ""),
        )[:200]
        fields = ["representative_ids", "keywords", "auto_title", "title"]
        if not category.title_locked:
            category.title = category.auto_title
        elif customer.tainted(category.title):
            category.title, category.title_locked = category.auto_title, False
            fields.append("title_locked")
            # No text in the event: the old title held the customer's words.
            audit(project=project, actor=None, action="title_erased", target=category)
        category.save(update_fields=fields)
    return len(affected)
