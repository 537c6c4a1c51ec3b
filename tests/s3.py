"""A real S3 protocol server on loopback (moto in server mode) for the object-storage tests,
and the settings that point the default storage at a bucket of it (fixtures: tests/conftest.py)."""

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

from config.storage import storage_from_url

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "voc-test",
    "AWS_SECRET_ACCESS_KEY": "voc-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """The server's URL; it runs for the whole session."""
    port = _free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert time.monotonic() < deadline and process.poll() is None, "moto did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def storage_env(endpoint: str, bucket: str, prefix: str = "voc") -> dict:
    """The environment a web or worker process gets to keep its files in the bucket."""
    return {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "VOC_STORAGE_URL": f"s3://{bucket}/{prefix}",
    }


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A new bucket, and this process's default storage in it (under the prefix `voc`)."""
    import boto3

    name = f"voc-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, **_client_credentials())
    client.create_bucket(Bucket=name)
    env = storage_env(s3_endpoint, name)
    default = storage_from_url(env["VOC_STORAGE_URL"], env)
    default["OPTIONS"].update(
        access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    )
    settings.STORAGES = {**settings.STORAGES, "default": default}
    yield Bucket(name, client, env)


def _client_credentials() -> dict:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_DEFAULT_REGION"],
    }


class Bucket:
    def __init__(self, name: str, client, env: dict):
        self.name, self.client, self.env = name, client, env

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def pending_uploads(self) -> list[str]:
        listed = self.client.list_multipart_uploads(Bucket=self.name)
        return [upload["Key"] for upload in listed.get("Uploads", [])]
