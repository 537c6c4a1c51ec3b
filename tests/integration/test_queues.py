"""Work by kind on two queues, and periodic work done once with two beat processes, on a real
Redis and Celery worker."""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings

from core.publish import publish
from tests.conftest import ROOT, Worker, purge_broker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def queue_lengths() -> dict[str, int]:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return {queue.name: broker.llen(queue.name) for queue in settings.CELERY_TASK_QUEUES}


def test_long_jobs_go_to_the_heavy_queue_and_follow_ups_to_the_quick_one():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the queues are Redis lists here")
    purge_broker()

    for name in ("triage.clustering_run", "triage.export_build", "feedback.import_run"):
        assert publish(name, 0)
    for name in ("triage.feedback_process", "dashboards.rollup"):
        assert publish(name)

    assert queue_lengths() == {"quick": 2, "heavy": 3}
    purge_broker()


def test_two_beat_processes_start_each_periodic_job_once_per_period(tmp_path):
    """Two beats send every entry (2 s period), one worker takes the messages: the job runs
    about once per period, not twice."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("beat and the worker share the Redis broker here")
    purge_broker()
    (tmp_path / "two_beats_settings.py").write_text(
        "from config.settings.test import *  # noqa: F403\n"
        "CELERY_BEAT_SCHEDULE = {'probe': {'task': 'core.periodic', 'schedule': 2.0,\n"
        "                                  'args': ('dashboards.rollup', 1.8)}}\n"
    )
    worker = Worker(tmp_path).start()
    env = {**worker.env, "DJANGO_SETTINGS_MODULE": "two_beats_settings",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}  # fmt: skip
    beats = []
    try:
        for n in (1, 2):
            log = open(tmp_path / f"beat-{n}.log", "wb")  # noqa: SIM115 - closed below
            beats.append((subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                 "-s", str(tmp_path / f"beat-{n}")],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            ), log))  # fmt: skip
        # Ten messages (each logged twice: received, succeeded): five periods of two beats.
        wait_for(lambda: worker.output().count("Task core.periodic[") >= 2 * 10, timeout=60)
        time.sleep(1)  # the last messages' tasks finish
    finally:
        for process, log in beats:
            process.terminate()
            process.wait(timeout=20)
            log.close()
        worker.stop()

    out = worker.output()
    sent = out.count("Task core.periodic[") // 2  # each logged as received, then succeeded
    ran = out.count("Task dashboards.rollup[") // 2
    assert sent >= 10, out[-3000:]
    # Each period's first message publishes the job, the other beat's finds it taken.
    assert sent // 2 - 2 <= ran <= sent // 2 + 2, (sent, ran)
