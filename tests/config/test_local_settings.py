"""The settings `make run` uses on a workstation."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_make_run_shows_no_debug_pages_unless_asked():
    def debug(**env) -> str:
        return subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); "
             "from django.conf import settings; print(settings.DEBUG)"],
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", **env},
            capture_output=True, text=True, cwd=ROOT, check=True,
        ).stdout.strip()  # fmt: skip

    assert debug() == "False"
    assert debug(DJANGO_DEBUG="true") == "True"
