"""core.files: the stored files as streams, in the media folder and in a real S3 protocol
server (moto on loopback), with the same behaviour from both."""

import hashlib
import os
import tracemalloc

import pytest
import requests

from core import files


@pytest.fixture(params=["local", "s3"])
def store(request, settings, tmp_path):
    """Where this test's files go: a fresh media folder, or a fresh bucket."""
    if request.param == "s3":
        return request.getfixturevalue("bucket")
    settings.MEDIA_ROOT = tmp_path / "media"
    return None


def payload(size: int, seed: int = 0) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32) + b"x" * (size % 32)


def test_a_written_file_reads_back_whole_with_its_size_and_sha256(store):
    data = payload(files.PART_BYTES * 2 + 12345)  # three parts in a bucket

    with files.write_file("exports/1/7-a.jsonl") as out:
        for start in range(0, len(data), 100_000):
            out.write(data[start : start + 100_000])

    with files.open_read("exports/1/7-a.jsonl") as stored:
        assert stored.read() == data
    assert (out.size, out.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert files.sha256_of("exports/1/7-a.jsonl") == out.sha256
    if store is not None:
        etag = store.client.head_object(Bucket=store.name, Key="voc/exports/1/7-a.jsonl")["ETag"]
        assert etag.strip('"').endswith("-3"), "sent as a multipart upload of three parts"
        assert store.pending_uploads() == []


def test_a_write_that_fails_leaves_nothing_behind(store):
    with pytest.raises(RuntimeError), files.write_file("exports/1/8-b.csv") as out:
        out.write(payload(files.PART_BYTES + 10))  # one part already sent to a bucket
        out.flush()
        raise RuntimeError("the build broke")

    assert not files.exists("exports/1/8-b.csv")
    assert list(files.names_under("exports")) == []
    if store is not None:
        assert store.pending_uploads() == [] and store.keys() == []


def test_reads_seek_and_stream_in_pieces(store):
    data = payload(3_000_000, seed=1)
    with files.write_file("references/2/1-k.npy") as out:
        out.write(data)

    with files.open_read("references/2/1-k.npy") as stored:
        stored.seek(-100, os.SEEK_END)
        tail = stored.read()
        stored.seek(1_000_000)
        middle = stored.read(10)
        assert stored.tell() == 1_000_010

    assert tail == data[-100:] and middle == data[1_000_000:1_000_010]
    with pytest.raises(FileNotFoundError):
        files.open_read("references/2/none.npy")


def test_writing_a_big_file_holds_about_one_part_in_memory(store):
    block = payload(64 * 1024)
    tracemalloc.start()
    try:
        with files.write_file("exports/3/9-big.parquet") as out:
            for _ in range(5 * files.PART_BYTES // len(block)):
                out.write(block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert out.size == 5 * files.PART_BYTES
    assert peak < 3 * files.PART_BYTES, f"peak {peak / 2**20:.1f} MiB for a 40 MiB file"


def test_leftovers_of_a_killed_writer_are_removed_and_nothing_else(store):
    with files.write_file("exports/4/5-done.csv") as out:
        out.write(b"kept")
    with files.write_file("exports/4/6-other.csv") as out:
        out.write(b"another export's")
    if store is None:
        with open(os.path.join(files.default_storage.path("exports/4"), "5-x.csv.part"), "wb"):
            pass
    else:
        store.client.create_multipart_upload(Bucket=store.name, Key="voc/exports/4/5-x.csv")

    files.leftovers_remove("exports/4", "5-")
    assert sorted(files.names_under("exports")) == ["exports/4/5-done.csv", "exports/4/6-other.csv"]
    if store is not None:
        assert store.pending_uploads() == []

    files.leftovers_remove("exports/4", "5-", finished_too=True)
    assert list(files.names_under("exports")) == ["exports/4/6-other.csv"]


def test_an_appended_file_resumes_at_its_committed_size(store):
    with files.AppendedFile("imports/1/r.csv", 0) as report:
        report.write(b"header\r\n")
        report.save()
        committed = report.tell()
        report.write(b"line 1\r\n")
        report.save()  # written, but the run died before committing its size

    with files.AppendedFile("imports/1/r.csv", committed) as report:
        report.write(b"line 1 again\r\n")
        report.save()

    with files.open_read("imports/1/r.csv") as stored:
        assert stored.read() == b"header\r\nline 1 again\r\n"


def test_a_download_is_streamed_or_a_short_lived_signed_url(store, settings):
    with files.write_file("exports/5/1-x.jsonl") as out:
        out.write(b'{"a": 1}\n')

    streamed = files.download_response(
        "exports/5/1-x.jsonl", filename="x.jsonl", content_type="application/jsonl"
    )
    settings.VOC_STORAGE_PRESIGNED = True
    maybe_signed = files.download_response(
        "exports/5/1-x.jsonl", filename="x.jsonl", content_type="application/jsonl"
    )

    assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == b'{"a": 1}\n'
    assert 'filename="x.jsonl"' in streamed["Content-Disposition"]
    if store is None:
        assert maybe_signed.status_code == 200  # a folder has no URLs to sign
        return
    assert maybe_signed.status_code == 302
    url = maybe_signed["Location"]
    assert "Signature=" in url or "X-Amz-Signature=" in url
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == b'{"a": 1}\n'
    assert 'filename="x.jsonl"' in fetched.headers["Content-Disposition"]
    unsigned = requests.get(url.split("?")[0], timeout=10)
    assert unsigned.status_code == 403, "the bucket is private"


def test_an_appended_file_shorter_than_its_committed_size_is_not_padded(store):
    with files.AppendedFile("imports/2/r.csv", 0) as report:
        report.write(b"header\r\n")
        report.save()

    with files.AppendedFile("imports/2/r.csv", 1000) as report:  # the size of a lost save
        report.write(b"next\r\n")
        report.save()

    with files.open_read("imports/2/r.csv") as stored:
        assert stored.read() == b"header\r\nnext\r\n"
