"""The default file storage from VOC_STORAGE_URL: the local media folder when unset, an
S3-compatible bucket for `s3://bucket/optional/prefix`. Credentials come the usual AWS way
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the machine's role); AWS_ENDPOINT_URL_S3 (or
AWS_ENDPOINT_URL) points at MinIO, Ceph, R2 and friends, which are then addressed path-style."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

LOCAL = {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def storage_from_url(url: str, environ: dict, *, url_seconds: int = 300) -> dict:
    """The STORAGES["default"] entry for a VOC_STORAGE_URL."""
    if not url:
        return LOCAL
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"VOC_STORAGE_URL must look like s3://bucket/prefix, not {url!r}"
        )
    endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL") or None
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": endpoint,
            "region_name": environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
            "addressing_style": "path" if endpoint else None,
            # Our names are unique (uuid): a write of an existing name means to replace it.
            "file_overwrite": True,
            "default_acl": None,  # the bucket's own policy: private
            "querystring_auth": True,
            "querystring_expire": url_seconds,
        },
    }
