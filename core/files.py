"""The files the apps keep (exports, import uploads and their reports, reference datasets), read
and written as streams through Django's default storage: the local media folder by default, an
S3-compatible bucket when VOC_STORAGE_URL names one (config/storage.py). With a bucket, web and
workers share no folder, so nothing here hands out a local path.

Names are storage names ("exports/3/17-<uuid>.jsonl"), always made by our code, never taken
from a request."""

import contextlib
import hashlib
import io
import os
import posixpath
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

# A multipart upload sends a part each time this much is written (S3's minimum part is 5 MiB;
# at 8 MiB a 10,000-part upload holds 80 GB). A read fetches this much per request.
PART_BYTES = 8 * 1024 * 1024
READ_BYTES = 8 * 1024 * 1024
PARTIAL = ".part"  # a local file being written; renamed when complete


def is_remote() -> bool:
    return not isinstance(default_storage, FileSystemStorage)


def _s3(name: str):
    """(client, bucket, key) of a name in the bucket."""
    from storages.utils import clean_name

    storage = default_storage
    # The storage's own normalisation, so that our keys are the ones it reads and deletes.
    key = storage._normalize_name(clean_name(name))
    return storage.connection.meta.client, storage.bucket_name, key


class _Sink(io.RawIOBase):
    """Write end of a new file: counts and hashes every byte on its way to `send`."""

    def __init__(self, send):
        self.send, self.size, self.digest = send, 0, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.send(view)
        self.size += len(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def discard(self) -> None:
        """Drop whatever is still buffered above (a failed write sends nothing more)."""
        self.send = lambda view: None


class Written(io.BufferedWriter):
    """What `write_file` yields: a buffered binary file; `size` and `sha256` once closed."""

    @property
    def size(self) -> int:
        return self.raw.size

    @property
    def sha256(self) -> str:
        return self.raw.digest.hexdigest()


class _MultipartUpload:
    """An S3 multipart upload fed in order: at most one part in memory; a file smaller than a
    part goes in one request. Nothing is visible under the key until `complete`."""

    def __init__(self, name: str):
        self.client, self.bucket, self.key = _s3(name)
        self.upload_id, self.parts = None, []
        self.pending = bytearray()  # what is written and not sent yet: less than a part

    def write(self, data) -> None:
        view = memoryview(data)
        while len(self.pending) + len(view) >= PART_BYTES:
            room = PART_BYTES - len(self.pending)
            self.pending += view[:room]
            view = view[room:]
            self._send(self.pending)
            self.pending = bytearray()
        self.pending += view

    def _send(self, body: bytearray) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        sent = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body
        )
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def complete(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.pending)
            return
        if self.pending:
            self._send(self.pending)
        self.client.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        if self.upload_id is not None:
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id
            )


@contextlib.contextmanager
def write_file(name: str) -> Iterator[Written]:
    """A file written as a stream under `name`, replacing what was there. It appears whole
    when the block ends without error (locally a `.part` file renamed, read-only; in a bucket a
    multipart upload completed) and not at all otherwise. Memory stays at one part."""
    if is_remote():
        upload = _MultipartUpload(name)
        out = Written(_Sink(upload.write), buffer_size=1 << 20)
        try:
            yield out
            out.close()
            upload.complete()
        except BaseException:
            out.raw.discard()
            upload.abort()
            raise
        return
    path = default_storage.path(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + PARTIAL
    with open(partial, "wb") as handle:
        out = Written(_Sink(handle.write), buffer_size=1 << 20)
        try:
            yield out
            out.close()
        except BaseException:
            out.raw.discard()
            handle.close()
            remove_paths(partial)
            raise
    os.chmod(partial, 0o444)
    os.replace(partial, path)


class _RangeReader(io.RawIOBase):
    """A bucket object read by ranged requests: seekable, one request per read, and refused
    (PreconditionFailed) if the object is replaced while it is read."""

    def __init__(self, name: str):
        self.client, self.bucket, self.key = _s3(name)
        head = self.client.head_object(Bucket=self.bucket, Key=self.key)
        self.length, self.etag, self.position = head["ContentLength"], head["ETag"], 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.length or not len(buffer):
            return 0
        last = min(self.position + len(buffer), self.length) - 1
        body = self.client.get_object(
            Bucket=self.bucket,
            Key=self.key,
            IfMatch=self.etag,
            Range=f"bytes={self.position}-{last}",
        )["Body"]
        data = body.read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def open_read(name: str) -> BinaryIO:
    """The file as a buffered, seekable binary stream (close it). FileNotFoundError when it
    is not there."""
    if not is_remote():
        return open(default_storage.path(name), "rb")  # noqa: SIM115 - the caller closes it
    try:
        return io.BufferedReader(_RangeReader(name), buffer_size=READ_BYTES)
    except default_storage.connection.meta.client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise FileNotFoundError(name) from exc
        raise


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def delete(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def sha256_of(name: str) -> str:
    digest = hashlib.sha256()
    with open_read(name) as handle:
        while block := handle.read(READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def names_under(folder: str) -> Iterator[str]:
    """Every file's name under the folder, at any depth, unfinished local writes left out."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for file in sorted(files):
        if not file.endswith(PARTIAL):
            yield posixpath.join(folder, file) if folder else file
    for sub in sorted(folders):
        yield from names_under(posixpath.join(folder, sub) if folder else sub)


def leftovers_remove(folder: str, starting: str, *, finished_too: bool = False) -> None:
    """Remove what a killed writer left in `folder` under names starting with `starting`:
    unfinished writes (local `.part` files, pending multipart uploads), and with `finished_too`
    the finished files as well (written but never recorded)."""
    if is_remote():
        client, bucket, prefix = _s3(posixpath.join(folder, starting))
        pending = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
        for upload in pending.get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    try:
        files = default_storage.listdir(folder)[1]
    except FileNotFoundError:
        return
    for file in files:
        if file.startswith(starting) and (finished_too or file.endswith(PARTIAL)):
            default_storage.delete(posixpath.join(folder, file))


def remove_paths(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


class AppendedFile:
    """A file appended to across runs, possibly on different hosts (an import's report): opened
    cut back to the size already committed (never past what is stored: a shorter file is not
    padded with zero bytes); `save()` makes what was written durable where the storage keeps
    it, and must come before the size is committed."""

    def __init__(self, name: str, committed: int):
        self.name = name
        if is_remote():
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            if committed and exists(name):
                with open_read(name) as stored:
                    while block := stored.read(READ_BYTES):
                        self.file.write(block)
            committed = min(committed, self.file.tell())
            self.saved = committed
        else:
            path = default_storage.path(name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.file = open(path, "r+b" if os.path.exists(path) else "w+b")  # noqa: SIM115
            committed = min(committed, self.file.seek(0, io.SEEK_END))
        self.file.truncate(committed)
        self.file.seek(committed)

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def tell(self) -> int:
        return self.file.tell()

    def save(self) -> None:
        self.file.flush()
        if not is_remote() or self.file.tell() == self.saved:
            return
        end = self.file.tell()
        self.file.seek(0)
        client, bucket, key = _s3(self.name)
        client.put_object(Bucket=bucket, Key=key, Body=self.file, ContentLength=end)
        self.saved = self.file.seek(end)

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def download_response(
    name: str, *, filename: str, content_type: str, redirect: bool = True
) -> HttpResponse:
    """The file as an attachment named `filename`: streamed by this process, or (`redirect`)
    with VOC_STORAGE_PRESIGNED a redirect to a short-lived signed URL of the bucket."""
    if redirect and is_remote() and settings.VOC_STORAGE_PRESIGNED:
        url = default_storage.url(
            name,
            parameters={
                "ResponseContentDisposition": content_disposition_header(True, filename),
                "ResponseContentType": content_type,
            },
            expire=settings.VOC_STORAGE_URL_SECONDS,
        )
        return HttpResponseRedirect(url)
    return FileResponse(
        open_read(name), as_attachment=True, filename=filename, content_type=content_type
    )
