"""The customer's page behind a feedback link: /f/<token>."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from feedback import links
from feedback.models import Feedback
from feedback.pii import EMAIL
from feedback.ratelimit import rate_limit_reset
from feedback.services import feedback_link_token
from tests.factories import PredictionFactory, ProjectFactory

pytestmark = pytest.mark.django_db

LABEL_NAMES = {"card_not_working": "My card does not work", "exchange_rate": "Exchange rates"}


@pytest.fixture(autouse=True)
def _generous_limits(settings):
    # Every test client shares 127.0.0.1; the rate-limit tests set their own limits.
    settings.VOC_FEEDBACK_RATE_PER_ADDRESS = (100_000, 600)
    settings.VOC_FEEDBACK_RATE_PER_TOKEN = (100_000, 3600)


@pytest.fixture
def prediction(project):
    project.label_names = LABEL_NAMES
    project.save()
    return PredictionFactory(
        project=project,
        input_text="My card got declined at the shop",
        predicted_label="card_arrival",
        customer_hash="c" * 64,
    )


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


# --- what the customer sees ------------------------------------------------------------------


def test_the_page_shows_our_answer_by_its_name_and_the_question_asked(client, prediction):
    response = client.get(url_for(prediction))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Card arrival" in html  # label_display of card_arrival
    assert "My card got declined at the shop" in html
    assert "Was this right?" in html
    assert '<option value="My card does not work">' in html, "searchable list of names"
    assert '<option value="Card arrival">' not in html, "our own answer is not offered"
    assert 'lang="en"' in html
    assert "<script" not in html, "the basic flow needs no JavaScript"
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_input_is_hidden_when_the_project_says_so(client, prediction):
    prediction.project.show_input_to_customer = False
    prediction.project.save()

    response = client.get(url_for(prediction))

    assert b"My card got declined" not in response.content


def test_the_page_speaks_korean_to_a_korean_browser(client, prediction):
    response = client.get(url_for(prediction), HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.5")

    html = response.content.decode()
    assert 'lang="ko"' in html
    assert "이 답변이 맞았나요?" in html
    for english in ("Was this right?", "Our answer", "Send", "Describe the problem"):
        assert english not in html


def test_customer_text_is_shown_as_text(client, project):
    prediction = PredictionFactory(project=project, input_text="<script>alert(1)</script>")

    response = client.get(url_for(prediction))

    assert b"<script>alert(1)" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


# --- one click, corrections, changes ---------------------------------------------------------


def test_a_thumbs_up_is_one_click_and_attributed_to_the_predictions_customer(client, prediction):
    url = url_for(prediction)

    response = rate(client, url, 1)

    assert response.status_code == 303
    assert response["Location"] == f"{url}?sent=up"
    stored = current(prediction).get()
    assert (stored.kind, stored.rating, stored.source) == ("rating", 1, "widget")
    assert stored.customer_hash == "c" * 64
    assert "glad the answer was right" in client.get(response["Location"]).content.decode()


def test_a_thumbs_down_leads_to_the_correction_form(client, prediction):
    response = rate(client, url_for(prediction), -1)

    assert response["Location"].endswith("?sent=down#details")
    assert current(prediction).get().rating == -1


def test_the_customer_corrects_the_answer_by_its_name_and_explains(client, prediction):
    url = url_for(prediction)

    response = details(client, url, "my card DOES NOT work", "It was declined twice")

    assert response.status_code == 303
    stored = current(prediction).get()
    assert (stored.kind, stored.corrected_label, stored.text) == (
        "correction",
        "card_not_working",
        "It was declined twice",
    )


def test_a_second_visit_shows_what_was_sent_and_prefills_it(client, prediction):
    url = url_for(prediction)
    rate(client, url, -1)
    details(client, url, "Exchange rates", "Wrong rate shown")

    html = client.get(url).content.decode()

    assert "What you told us" in html
    assert 'value="Exchange rates"' in html
    assert ">Wrong rate shown</textarea>" in html
    assert 'value="-1" class="thumb down" aria-pressed="true"' in html
    assert "Update my answer" in html


def test_changing_the_answer_keeps_one_current_answer_and_the_history(client, prediction):
    url = url_for(prediction)
    details(client, url, "Exchange rates")
    details(client, url, "My card does not work", "sorry, this one")

    assert list(current(prediction).values_list("corrected_label", "text")) == [
        ("card_not_working", "sorry, this one")
    ]
    old = Feedback.objects.get(prediction=prediction, superseded_at__isnull=False)
    assert old.corrected_label == "exchange_rate"
    html = client.get(url).content.decode()
    assert "One earlier answer" in html and "Exchange rates" in html


def test_sending_the_same_answer_again_stores_nothing_new(client, prediction):
    url = url_for(prediction)
    details(client, url, "Exchange rates", "same")
    rate(client, url, -1)

    details(client, url, "Exchange rates", "same")
    rate(client, url, -1)

    assert Feedback.objects.filter(prediction=prediction).count() == 2


def test_a_thumbs_up_withdraws_an_earlier_correction(client, prediction):
    url = url_for(prediction)
    details(client, url, "Exchange rates")

    rate(client, url, 1)

    assert list(current(prediction).values_list("kind", "rating")) == [("rating", 1)]


def test_a_correction_withdraws_an_earlier_thumbs_up(client, prediction):
    url = url_for(prediction)
    rate(client, url, 1)

    details(client, url, "Exchange rates")

    assert list(current(prediction).values_list("kind", flat=True)) == ["correction"]


def test_a_description_alone_is_a_complaint(client, prediction):
    details(client, url_for(prediction), text="The app froze")

    stored = current(prediction).get()
    assert (stored.kind, stored.text, stored.corrected_label) == ("complaint", "The app froze", "")


def test_without_a_label_set_the_answer_is_free_text(client):
    project = ProjectFactory(labels=[])
    prediction = PredictionFactory(project=project, predicted_label="42 Main St")

    html = client.get(url_for(prediction)).content.decode()
    details(client, url_for(prediction), "24 Main Street")

    assert "<datalist" not in html and "What should the answer have been?" in html
    assert current(prediction).get().corrected_label == "24 Main Street"


def test_an_unknown_answer_offers_suggestions_that_work_without_javascript(client, prediction):
    url = url_for(prediction)

    response = details(client, url, "card not work", "declined")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Please pick one of the answers from the list." in html
    assert 'name="pick" value="card_not_working"' in html
    assert ">declined</textarea>" in html, "nothing typed is lost"
    assert not current(prediction).exists()

    details(client, url, "card not work", "declined", pick="card_not_working")

    assert current(prediction).get().corrected_label == "card_not_working"


@pytest.mark.parametrize(
    ("answer", "text", "message"),
    [
        ("Card arrival", "", "That is the answer we gave."),
        ("", "", "Tell us the right answer, or describe the problem."),
        ("", "x" * 5001, "Ensure this value has at most 5000 characters"),
        ("", "nul \x00 byte", "Null characters are not allowed."),
    ],
)
def test_bad_answers_are_explained_and_nothing_is_stored(client, prediction, answer, text, message):
    response = details(client, url_for(prediction), answer, text)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Feedback.objects.exists()


def test_free_text_is_redacted_before_storage_when_the_project_asks(client, prediction):
    prediction.project.pii_redaction = True
    prediction.project.save()
    url = url_for(prediction)

    details(client, url, text="mail me: kim@example.com")
    details(client, url, text="mail me: kim@example.com")  # the same answer: no change

    assert list(current(prediction).values_list("text", flat=True)) == [f"mail me: {EMAIL}"]
    assert Feedback.objects.count() == 1


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
