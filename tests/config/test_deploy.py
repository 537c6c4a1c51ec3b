import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "x7#kd9!qpz3m0v2l8w1r6t4y5u0i9o8p7a6s5d4f3g2h1j0k-QWERTY-zxcvbn-123456",
    "DJANGO_ALLOWED_HOSTS": "voc.example.com",
    "DATABASE_URL": "postgres://voc:voc@localhost:5432/voc",
    "REDIS_URL": "redis://localhost:6379/0",
}


def manage(*args, env):
    # Only what a production host would have: no test-only switches from this process.
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_deploy_check_is_clean_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def docker_compose_config(*args, env=None) -> subprocess.CompletedProcess:
    """`docker-compose config` parses the file without a Docker engine (Debian's package)."""
    if not shutil.which("docker-compose"):
        if os.environ.get("VOC_REQUIRE_SERVICES") == "true":
            pytest.fail("docker-compose must be installed in CI (scripts/system-deps.sh)")
        pytest.skip("docker-compose not installed")
    return subprocess.run(
        ["docker-compose", "config", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_docker_compose_describes_every_service():
    result = docker_compose_config("--services")

    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) >= {
        "postgres",
        "redis",
        "web",
        "worker",
        "worker-heavy",
        "beat",
    }


def test_each_queue_has_workers_in_docker_compose_and_one_beat_runs(settings):
    import yaml  # drf-spectacular's dependency

    result = docker_compose_config()
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    consumed = {}
    for name, service in services.items():
        command = service.get("command") or []
        if "worker" in command:
            consumed[name] = command[command.index("-Q") + 1].split(",")
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}

    assert sorted(q for names in consumed.values() for q in names) == sorted(queues)
    assert {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} <= queues
    assert settings.CELERY_TASK_DEFAULT_QUEUE in queues
    assert [name for name, s in services.items() if "beat" in (s.get("command") or [])] == ["beat"]


def test_the_image_pins_the_same_cpu_torch_as_the_embeddings_extra():
    import re
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["embeddings"]
    (pinned,) = [spec.split("==")[1] for spec in extra if spec.startswith("torch==")]
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(rf"^ARG TORCH_VERSION={re.escape(pinned)}$", dockerfile, re.M)
    assert 'pip install ".[embeddings]"' in dockerfile


def test_docker_compose_passes_the_embeddings_choice_to_the_image_build():
    result = docker_compose_config(env={"VOC_IMAGE_EMBEDDINGS": "true"})

    assert result.returncode == 0, result.stderr
    assert "EMBEDDINGS: 'true'" in result.stdout or 'EMBEDDINGS: "true"' in result.stdout
