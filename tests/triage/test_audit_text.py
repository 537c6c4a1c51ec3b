"""Category history in sentences (triage/audit_text.py)."""

import pytest

from triage.audit_text import event_sentence

STATES = {"new": "new", "wont_fix": "won't fix", "planned": "planned"}


@pytest.mark.parametrize(
    ("action", "data", "sentence"),
    [
        ("state", {"old": "new", "new": "wont_fix"}, "moved from new to won't fix"),
        ("assign", {"owner_team": {"old": "", "new": "data"}},
         "assigned: owner team none → data"),
        ("assign", {"owner_team": {"old": "data", "new": "model"},
                    "assignee": {"old": None, "new": "rita"}},
         "assigned: owner team data → model; assignee nobody → rita"),
        ("rename", {"old": "Card, arrival", "new": "Late cards"},
         "renamed from “Card, arrival” to “Late cards”"),
        ("merge", {"source_id": 4, "source_title": "Lost cards", "items": 12},
         "took in “Lost cards” (12 items)"),
        ("split", {"new_category_id": 9, "items": [1, 2, 3]}, "split 3 items into category #9"),
        ("move_items", {"items": [5]}, "received 1 item moved by hand"),
        ("regressed", {"version": "v3", "before": 1.2, "after": 4.5},
         "regressed after v3: 1.2 → 4.5 per 1,000 predictions of its labels"),
        ("something_new", {}, "something new"),
    ],
)  # fmt: skip
def test_each_event_reads_as_a_sentence(action, data, sentence):
    assert event_sentence(action, data, STATES) == sentence
