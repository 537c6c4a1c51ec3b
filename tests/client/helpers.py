"""Shared by the client's tests."""

PREDICTION = {"input_text": "where is my parcel", "predicted_label": "track_order"}


def log(client, n, prefix="r", **fields):
    for i in range(n):
        assert client.log_prediction(request_id=f"{prefix}{i}", **{**PREDICTION, **fields})
