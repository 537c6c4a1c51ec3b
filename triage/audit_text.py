"""What an audit event on a category says, in a sentence for its page's history (pure: the
event's action and data in, text out; the template escapes it)."""

from collections.abc import Mapping


def _count(items) -> int:
    return len(items) if isinstance(items, list) else int(items or 0)


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def _change(name: str, change, none: str) -> str:
    if not isinstance(change, Mapping):
        return ""
    return f"{name} {change.get('old') or none} → {change.get('new') or none}"


def event_sentence(action: str, data: Mapping, states: Mapping[str, str]) -> str:
    """The event as a person would say it: "moved from new to planned", "renamed ..."."""
    state = lambda value: states.get(value, str(value or "").replace("_", " "))  # noqa: E731
    if action == "state":
        return f"moved from {state(data.get('old'))} to {state(data.get('new'))}"
    if action == "assign":
        changes = [
            _change("owner team", data.get("owner_team"), "none"),
            _change("assignee", data.get("assignee"), "nobody"),
        ]
        return "assigned: " + "; ".join(change for change in changes if change)
    if action == "rename":
        return f"renamed from “{data.get('old', '')}” to “{data.get('new', '')}”"
    if action == "merge":
        moved = _items(_count(data.get("items")))
        return f"took in “{data.get('source_title', '')}” ({moved})"
    if action == "split":
        moved = _items(_count(data.get("items")))
        return f"split {moved} into category #{data.get('new_category_id')}"
    if action == "move_items":
        return f"received {_items(_count(data.get('items')))} moved by hand"
    if action == "regressed":
        return (
            f"regressed after {data.get('version')}: {data.get('before')} → "
            f"{data.get('after')} per 1,000 predictions of its labels"
        )
    if action == "comment":
        return "commented"
    if action == "title_erased":
        return "its title was removed by a customer's erasure request"
    return action.replace("_", " ")
