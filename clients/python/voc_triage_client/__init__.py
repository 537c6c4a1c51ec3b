"""Python client of the VoC Triage ingest API.

    from voc_triage_client import VocClient

    client = VocClient(base_url="https://voc.example.com", api_key="...", project="shop-intents")
    client.log_prediction(request_id="req-1", input_text="where is my parcel",
                          predicted_label="track_order", model_version="v3")
    client.log_feedback(kind="correction", request_id="req-1", corrected_label="refund")

Standard library only; see README.md.
"""

from ._client import VocClient
from ._http import VERSION, VocApiError, VocConnectionError, VocError

__version__ = VERSION
__all__ = ["VocClient", "VocError", "VocApiError", "VocConnectionError", "__version__"]
