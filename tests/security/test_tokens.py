"""Feedback tokens: every single-character change of a valid token, a token of another project
or purpose (salt), and an expired one are all refused.

Figures: mutations tried and accepted (must be 0); forged tokens tried and accepted (must be 0).
"""

import string
from datetime import timedelta

import pytest
import time_machine
from django.core import signing

from feedback import links
from tests.factories import PredictionFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_address_limit(settings):
    # Other tests of the run post from the same address: this file is about tokens, not limits.
    settings.VOC_FEEDBACK_RATE_PER_ADDRESS = (100_000, 600)


ALPHABET = string.ascii_letters + string.digits + "-_:"


def token_for(prediction, lifetime=timedelta(days=1)) -> str:
    claims = links.link_token_create(
        project_id=prediction.project_id, prediction_id=prediction.id, lifetime=lifetime
    )
    return links.link_token_sign(claims)


def mutations(token: str):
    for position, original in enumerate(token):
        for replacement in ALPHABET:
            if replacement != original:
                yield token[:position] + replacement + token[position + 1 :]
        yield token[:position] + token[position + 1 :]  # the character dropped


def test_every_single_character_change_of_a_token_is_refused(client, figures):
    prediction = PredictionFactory(input_text="the customer's question")
    token = token_for(prediction)
    assert links.link_token_verify(token).prediction_id == prediction.id  # the control
    tried, accepted = 0, []
    for mutated in mutations(token):
        tried += 1
        try:
            links.link_token_verify(mutated)
            accepted.append(mutated)
        except links.LinkInvalid:
            pass
    # Through the page too, one change per position: a friendly 404 and nothing shown.
    pages, shown = 0, []
    for position in range(len(token)):
        mutated = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        response = client.get(f"/f/{mutated}")
        pages += 1
        if response.status_code != 404 or b"the customer&#x27;s question" in response.content:
            shown.append(mutated)
    figures.update(
        token_length=len(token), mutations_tried=tried, mutations_accepted=len(accepted),
        pages_tried=pages, pages_answered=len(shown),
    )  # fmt: skip
    assert accepted == [] and shown == []
    assert tried > 60 * len(token)


def test_tokens_of_another_project_purpose_or_time_are_refused(client, figures):
    prediction = PredictionFactory()
    other_project = ProjectFactory()
    payload = {"p": prediction.project_id, "r": prediction.id, "e": 2**40}
    forged = {
        "other_project": links.link_token_sign(
            links.link_token_create(project_id=other_project.id, prediction_id=prediction.id,
                                    lifetime=timedelta(days=1))
        ),
        "other_salt": signing.dumps(payload, salt="something-else", compress=True),
        "form_key_salt": signing.dumps(payload, salt=links.FORM_SALT, compress=True),
        "no_salt": signing.dumps(payload, compress=True),
        "unsigned": signing.b64_encode(b'{"p":1,"r":1,"e":1099511627776}').decode(),
    }  # fmt: skip
    expired = token_for(prediction, lifetime=timedelta(days=1))
    answers = {name: client.get(f"/f/{token}").status_code for name, token in forged.items()}
    with time_machine.travel(timedelta(days=2)):
        answers["expired"] = client.get(f"/f/{expired}").status_code
        with pytest.raises(links.LinkExpired):
            links.link_token_verify(expired)
    figures.update(
        forged_tried=len(answers), forged_accepted=sum(a < 400 for a in answers.values())
    )
    assert answers == {**{name: 404 for name in forged}, "expired": 410}
