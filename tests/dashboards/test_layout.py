"""What the dashboards' layout promises: the rollup figure names come from the model, and the
Quality overview's folds, figures and layouts run without Django."""

import subprocess
import sys
from pathlib import Path

from dashboards import rollup_fields
from dashboards.models import MetricRollup, MetricRollupDay

ROOT = Path(__file__).resolve().parents[2]
PURE = ["folds", "figures", "sections", "charts", "tables"]


def test_rollup_figures_are_the_models_columns():
    keys = {"id", "project", "model_version", "computed_at"}
    assert set(rollup_fields.ROLLUP_FIELDS) == {
        f.name for f in MetricRollup._meta.fields if f.name not in keys | {"hour"}
    }
    assert set(rollup_fields.ROLLUP_FIELDS) | {"active_hours"} == {
        f.name for f in MetricRollupDay._meta.fields if f.name not in keys | {"day"}
    }
    # Every figure is summed, kept as the largest, or JSON merged by its own rule.
    kinds = [rollup_fields.SUMMED_FIELDS, rollup_fields.MAX_FIELDS, rollup_fields.JSON_FIELDS]
    assert sorted(name for kind in kinds for name in kind) == sorted(rollup_fields.ROLLUP_FIELDS)
    assert set(rollup_fields.COUNT_FIELDS) < set(rollup_fields.SUMMED_FIELDS)


def test_rollup_zero_gives_fresh_containers():
    first = rollup_fields.rollup_zero()
    first["label_counts"]["x"] = 1
    first["confidence_predictions"][0] = 1
    second = rollup_fields.rollup_zero()
    assert second["label_counts"] == {} and set(second["confidence_predictions"]) == {0}


def test_the_quality_folds_and_layouts_do_not_need_django():
    modules = ", ".join(f"dashboards.quality.{name}" for name in PURE)
    code = f"import sys, {modules}; print(any(m.split('.')[0] == 'django' for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "False"
