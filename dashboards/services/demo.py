"""The dashboards' part of the Banking77 demo: an alert rule that catches the replay's incident.

`load_demo` (feedback) ingests the replay with timestamps in the past; beat only ever evaluates
rules over the last hours, so the rule is evaluated here over the replay's history, hour by
hour as beat would have done live, once the rollups of that history exist.
"""

import time
from datetime import timedelta

from django.utils import timezone

from feedback.models import Project

from ..models import AlertRule, MetricRollup
from .alerts import rule_backfill
from .rollups import rollup_pass, rollup_rebuild

# Measured on the default replay (seed 0, each query served once, ~75 predictions a day): the
# correction rate over 24 hours peaks at 28 % while the incident day is in the window and
# stays under 24 % elsewhere; 26 % sits between the two. Other seeds or `--repeat` values move
# both figures by a few points (over a day of traffic this small, noise is ±4.5 points).
DEMO_RULE = {
    "metric": AlertRule.Metric.CORRECTION_RATE,
    "comparator": AlertRule.Comparator.GT,
    "threshold": 0.26,
    "window_hours": 24,
    "min_volume": 40,
}
# The rule's name in the demo's language (`load_demo --language`).
DEMO_RULE_NAMES = {"en": "Correction-rate spike", "ko": "정정률 급증"}
# A pass already running elsewhere (a worker's beat) makes ours a no-op: wait for it, but
# not forever (a pass holds its claim at most 420 s).
ROLLUP_WAIT_SECONDS = 600


def rollups_complete(*, project: Project) -> None:
    """Build the project's rollups now (the passes beat would run), however long it takes:
    our own passes go on while they make progress; waiting on another's is bounded."""
    rollup_rebuild(project=project)
    # A pass marks the hours of each new id range twice (a transaction may commit late), so
    # two passes that only mark come first: the history is then recounted once, not twice.
    for _ in range(2):
        rollup_pass(time_budget=0)
    waiting_since = None
    while True:
        result = rollup_pass()
        if result.claimed and not result.remaining:
            return
        if result.claimed and result.recomputed:
            waiting_since = None
            continue
        waiting_since = waiting_since or time.monotonic()
        if time.monotonic() - waiting_since > ROLLUP_WAIT_SECONDS:
            raise TimeoutError(f"{result.remaining} rollup hours still to compute")
        time.sleep(1)


def demo_alerts_setup(*, project: Project, language: str = "en") -> dict:
    """Create the demo's alert rule (once) and evaluate it over the project's history, so the
    alerts page shows the incident as an event that opened and resolved. Idempotent: an
    existing rule is left as it is (beat evaluates it from now on)."""
    name = DEMO_RULE_NAMES[language]
    rules = AlertRule.objects.filter(project=project, name=name)
    if rules.exists():
        return {"rule": rules.first(), "created": False, "transitions": []}
    rollups_complete(project=project)
    rule = AlertRule.objects.create(project=project, name=name, **DEMO_RULE)
    hours = MetricRollup.objects.filter(project=project).order_by("hour")
    first, last = (
        hours.values_list("hour", flat=True).first(),
        hours.values_list("hour", flat=True).last(),
    )
    transitions = []
    if first is not None:
        # Until the last hour of traffic has left the window (or now, if sooner).
        until = min(last + timedelta(hours=rule.window_hours + 1), timezone.now())
        transitions = rule_backfill(rule=rule, since=first, until=until)
    return {"rule": rule, "created": True, "transitions": transitions}
