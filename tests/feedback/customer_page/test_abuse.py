"""The customer's page behind a feedback link under attack: tampered, expired and foreign
tokens, forged posts, floods, framing by other sites."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from feedback import links
from feedback.models import Feedback
from feedback.ratelimit import rate_limit_reset
from tests.factories import PredictionFactory, ProjectFactory
from tests.feedback.customer_page.helpers import (
    details,
    form_key,
    rate,
    url_for,
)

pytestmark = pytest.mark.django_db


# --- abuse -----------------------------------------------------------------------------------


def test_a_tampered_token_gets_a_friendly_page_and_no_data(client, prediction):
    token = url_for(prediction).removeprefix("/f/")
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    for url in (f"/f/{tampered}", "/f/not-a-token", f"/f/{token[:20]}"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"This link does not work" in response.content
        assert b"declined" not in response.content


def test_an_expired_token_says_so(client, prediction):
    url = url_for(prediction)

    with time_machine.travel(timedelta(days=31)):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 410
    assert "링크가 만료되었습니다" in response.content.decode()
    assert b"declined" not in response.content


def test_a_token_signed_for_another_project_shows_nothing(client, prediction):
    other = ProjectFactory()
    claims = links.link_token_create(
        project_id=other.id, prediction_id=prediction.id, lifetime=timedelta(days=1)
    )

    response = client.get(f"/f/{links.link_token_sign(claims)}")

    assert response.status_code == 404


def test_a_token_signed_with_another_salt_is_refused(client, prediction):
    payload = {"p": prediction.project_id, "r": prediction.id, "e": 2**40}
    forged = signing.dumps(payload, salt="something-else", compress=True)

    assert client.get(f"/f/{forged}").status_code == 404


def test_a_post_without_the_pages_form_key_is_refused(client, prediction):
    url = url_for(prediction)
    other_key = form_key(client.get(url_for(PredictionFactory(project=prediction.project))))

    for data in ({}, {"form_key": "forged"}, {"form_key": other_key}):
        response = client.post(url, {"action": "rate", "rating": "1", **data})
        assert response.status_code == 403
        assert b"Please reload the page" in response.content
    assert not Feedback.objects.exists()


def test_a_post_from_another_site_is_refused(client, prediction):
    url = url_for(prediction)
    key = form_key(client.get(url))

    evil = client.post(
        url, {"action": "rate", "rating": "1", "form_key": key}, HTTP_ORIGIN="https://evil.test"
    )
    ours = client.post(
        url, {"action": "rate", "rating": "1", "form_key": key}, HTTP_ORIGIN="http://testserver"
    )

    assert (evil.status_code, ours.status_code) == (403, 303)


def test_the_honeypot_stores_nothing_but_looks_like_success(client, prediction):
    response = details(client, url_for(prediction), text="buy pills", website="http://spam.test")

    assert response.status_code == 303
    assert not Feedback.objects.exists()


def test_too_many_requests_for_one_link_get_a_clear_429(client, prediction, settings):
    settings.VOC_FEEDBACK_RATE_PER_TOKEN = (3, 3600)
    # Ids repeat across test databases; the cache does not know that.
    rate_limit_reset(key=f"feedback-page:link:{prediction.project_id}:{prediction.id}", window=3600)
    url = url_for(prediction)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"

    codes = [client.get(url, REMOTE_ADDR=address).status_code for _ in range(4)]
    response = client.get(url, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="ko")

    assert codes == [200, 200, 200, 429]
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "요청이 너무 많습니다" in response.content.decode()


def test_too_many_requests_from_one_address_get_a_429_even_with_bad_tokens(client, settings):
    settings.VOC_FEEDBACK_RATE_PER_ADDRESS = (5, 600)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"

    codes = [client.get(f"/f/guess-{i}", REMOTE_ADDR=address).status_code for i in range(6)]

    assert codes == [404] * 5 + [429]
    assert client.get("/f/guess", REMOTE_ADDR="10.255.255.1").status_code == 404


# --- embedding -------------------------------------------------------------------------------


def test_the_embedded_page_may_be_framed_by_the_projects_origins_only(client, prediction):
    prediction.project.frame_ancestors = "https://shop.example.com https://*.example.org"
    prediction.project.save()

    embedded = client.get(url_for(prediction, embed=1))
    plain = client.get(url_for(prediction))

    policy = embedded["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example.com https://*.example.org" in policy
    assert "X-Frame-Options" not in embedded
    assert b'class="customer embed"' in embedded.content
    assert b"feedback-embed.js" in embedded.content
    assert "frame-ancestors 'none'" in plain["Content-Security-Policy"]
    assert plain["X-Frame-Options"] == "DENY"


def test_the_embedded_page_keeps_its_framing_after_a_post(client, prediction):
    prediction.project.frame_ancestors = "https://shop.example.com"
    prediction.project.save()
    url = url_for(prediction, embed=1)

    response = rate(client, url, 1)
    after = client.get(response["Location"])

    assert response["Location"] == url.replace("?embed=1", "?sent=up&embed=1")
    assert "frame-ancestors https://shop.example.com" in after["Content-Security-Policy"]


def test_without_allowed_origins_even_the_embed_variant_cannot_be_framed(client, prediction):
    response = client.get(url_for(prediction, embed=1))

    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_an_origin_list_that_tries_to_widen_the_policy_is_refused_and_ignored(client, prediction):
    from django.core.exceptions import ValidationError

    project = prediction.project
    project.frame_ancestors = "https://ok.example.com; script-src * 'unsafe-inline'"
    with pytest.raises(ValidationError):
        project.full_clean()
    project.save()  # saved anyway, bypassing validation (e.g. a raw update)

    policy = client.get(url_for(prediction, embed=1))["Content-Security-Policy"]

    assert "script-src 'self';" in policy
    assert "unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'unsafe-inline'" not in policy
