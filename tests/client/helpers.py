"""Shared by the client's tests."""

PREDICTION = {"input_text": "where is my parcel", "predicted_label": "track_order"}


def log(client, n, prefix="r", **fields):
    for i in range(n):
        assert client.log_prediction(request_id=f"{prefix}{i}", **{**PREDICTION, **fields})


def package_path() -> str:
    """Where voc_triage_client is imported from (for subprocesses)."""
    from pathlib import Path

    import voc_triage_client

    return str(Path(voc_triage_client.__file__).resolve().parent.parent)
