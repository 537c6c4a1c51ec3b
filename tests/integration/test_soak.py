"""The soak's short version (2 minutes; `make soak` runs 30): real PostgreSQL, Redis, gunicorn,
a worker and beat under the whole mix at once. Nothing may fail and nothing may be lost."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_two_minutes_of_the_mix_serve_everything_and_lose_nothing(tmp_path, figures):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        pytest.skip("the soak runs on PostgreSQL and Redis (make test starts them)")
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--minutes", "2", "--rate", "100",
         "--users", "10", "--every", "45", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak-short.log").write_text(done.stdout[-20000:] + done.stderr[-20000:])
    assert done.returncode == 0, done.stderr[-3000:]
    soak = json.loads(out.read_text())
    (ARTIFACTS / "soak-short.json").write_text(json.dumps(soak, indent=1))
    figures.update(
        requests=soak["requests"], server_errors_5xx=soak["server_errors_5xx"],
        predictions=f"{soak['predictions_present']} present + {soak['predictions_deleted_by_retention']} deleted by retention of {soak['predictions_sent']}",
        feedback=f"{soak['feedback_present']} of {soak['feedback_sent']}",
        queue_length_max=soak["queue_length_max"],
    )  # fmt: skip

    assert soak["server_errors_5xx"] == 0 and soak["no_answer"] == 0, soak["statuses"]
    assert soak["predictions_sent"] >= 100 * 60  # the load really ran
    assert soak["predictions_lost"] == 0, soak["predictions_lost_first"]
    assert (
        soak["predictions_present"] + soak["predictions_deleted_by_retention"]
        == soak["predictions_sent"]
    )
    assert soak["feedback_present"] == soak["feedback_sent"] > 0
    assert soak["feedback_without_prediction"] == 0
    assert set(soak["pages_per_minute"]) == {"board", "inbox", "quality", "categories", "category"}
    assert all(
        status == 200 for kind, counts in soak["statuses"].items() if kind.startswith("page:")
        for status in map(int, counts)
    ), soak["statuses"]  # fmt: skip
    events = soak["events"]
    assert events and all(event.get("export") == "succeeded" for event in events), events
    assert all(event["run"] in (200, 202) and event["erasure"] == 202 for event in events), events
    assert soak["queue_drained_after_s"] < 300
