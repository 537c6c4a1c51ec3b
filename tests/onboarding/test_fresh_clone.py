"""A newcomer's path: clone the repository into an empty folder and run the README's first
command there (`make run`, in its check mode), with nothing beside the clone."""

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# Variables of this test run that a newcomer's shell would not have.
NOT_A_NEWCOMERS = ("DATABASE_URL", "REDIS_URL", "VOC_DATA_DIR", "DJANGO_SETTINGS_MODULE",
                   "VOC_REQUIRE_SERVICES", "VOC_SQLITE_RUN", "VIRTUAL_ENV", "VOC_BANKING77_DIR")  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_make_run_in_a_fresh_clone_reaches_a_logged_in_board_with_categories(tmp_path):
    empty = tmp_path / "empty"  # the clone's parent holds nothing else: no sibling folder
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in NOT_A_NEWCOMERS}
    env |= {"VOC_RUN_CHECK": "1", "VOC_PORT": str(free_port()), "VOC_RUN_CHECK_TIMEOUT": "600"}
    env["PATH"] = os.pathsep.join(
        part for part in env["PATH"].split(os.pathsep) if not part.startswith(str(ROOT))
    )
    started = time.monotonic()

    subprocess.run(["git", "clone", "--quiet", str(ROOT), "voc"], cwd=empty, check=True)
    result = subprocess.run(
        ["make", "run"], cwd=empty / "voc", env=env, capture_output=True, text=True,
        timeout=1500,
    )  # fmt: skip
    elapsed = time.monotonic() - started

    ARTIFACTS.mkdir(exist_ok=True)
    output = result.stdout + result.stderr
    (ARTIFACTS / "fresh-clone-make-run.log").write_text(output)
    assert result.returncode == 0, output[-4000:]
    assert "Demo check passed" in output
    assert sorted(p.name for p in empty.iterdir()) == ["voc"]
    phases = {name: int(s) for name, s in re.findall(r"^\[([a-z ]+): (\d+)s\]$", output, re.M)}
    assert set(phases) == {"migrated", "demo loaded", "checked"}
    timing = {"clone_to_checked_s": round(elapsed), "run_sh_phases_s": phases}
    (ARTIFACTS / "fresh-clone-timing.json").write_text(json.dumps(timing, indent=2))
