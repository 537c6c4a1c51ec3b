"""The customer's page behind a feedback link: /f/<token>."""

import pytest

from feedback.models import Feedback
from feedback.pii import EMAIL
from tests.factories import PredictionFactory, ProjectFactory
from tests.feedback.customer_page.helpers import current, details, rate, url_for

pytestmark = pytest.mark.django_db

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


def test_a_korean_customer_reads_the_labels_korean_names(client, prediction):
    project = prediction.project
    project.label_translations = {"ko": {"card_arrival": "카드 배송"}}
    project.save()

    korean = client.get(url_for(prediction), HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    english = client.get(url_for(prediction), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "카드 배송" in korean and "Card arrival" not in korean
    assert "Card arrival" in english and "카드 배송" not in english


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
