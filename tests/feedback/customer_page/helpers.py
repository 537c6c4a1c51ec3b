"""The customer page's forms, as the tests fill them in."""

import re

from feedback.models import Feedback
from feedback.services import feedback_link_token

LABEL_NAMES = {"card_not_working": "My card does not work", "exchange_rate": "Exchange rates"}


def url_for(prediction, **query):
    token, _ = feedback_link_token(project=prediction.project, prediction_id=prediction.id)
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return f"/f/{token}{suffix}"


def form_key(response) -> str:
    return re.search(rb'name="form_key" value="([^"]+)"', response.content).group(1).decode()


def send(client, url, **data):
    """Open the page, then post one of its forms as a browser would."""
    page = client.get(url)
    return client.post(url, {"form_key": form_key(page), **data})


def rate(client, url, rating):
    return send(client, url, action="rate", rating=str(rating))


def details(client, url, answer="", text="", **extra):
    return send(client, url, action="details", corrected_label=answer, text=text, **extra)


def current(prediction):
    return Feedback.objects.filter(prediction=prediction, superseded_at__isnull=True)
