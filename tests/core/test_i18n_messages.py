"""The team's messages follow the reader's language: API errors (same code, Korean text),
flash messages after a team action, and the weekly digest e-mail."""

from datetime import date
from types import SimpleNamespace

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from feedback.models import Membership
from tests.helpers import login

pytestmark = pytest.mark.django_db


def test_an_api_validation_error_is_in_korean_with_the_same_code(api, project):
    url = f"/api/v1/projects/{project.slug}/predictions"

    english = api.post(url, {"items": []}, format="json").json()["error"]
    korean = api.post(url, {"items": []}, format="json", HTTP_ACCEPT_LANGUAGE="ko").json()["error"]

    assert english == {
        "code": "invalid_body",
        "message": "Expected a JSON object with a 'predictions' list, or NDJSON lines.",
        "details": {},
    }
    assert korean["code"] == "invalid_body"
    assert (
        korean["message"] == "'predictions' 목록을 담은 JSON 객체나 NDJSON 줄 형식으로 보내 주세요."
    )


def test_an_item_error_of_ingest_is_in_the_readers_language(api, project):
    url = f"/api/v1/projects/{project.slug}/predictions"
    body = {"predictions": [{"request_id": "r1", "model_version": "v1", "input_text": "hi"}]}

    response = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="ko")

    assert response.json()["rejected"][0]["errors"] == {"predicted_label": ["필수 항목입니다."]}


def test_a_flash_message_after_a_team_action_reads_korean_for_a_korean_browser(client, project):
    login(client, project, Membership.Role.ADMIN)
    other = Membership.objects.filter(project=project).first()
    url = reverse("member-change", args=[project.slug, other.id])

    response = client.post(url, {"role": "owner"}, HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "목록에서 역할과 팀을 선택해 주세요."
    ]


def test_the_digest_email_renders_in_korean():
    category = SimpleNamespace(title="결제 오류", size=12, growth=0.5, regression_note="")
    point = SimpleNamespace(
        title="환불 안내 개선", due_date=date(2026, 12, 1), get_state_display="Open"
    )
    context = {
        "project": SimpleNamespace(name="Banking"),
        "since": date(2026, 11, 30),
        "agenda": {
            "regressed": [],
            "new": [category],
            "growing": [category],
            "unowned": [],
            "overdue": [point],
        },
        "board_url": "https://voc.example/p/banking/board/",
        "review_url": "https://voc.example/p/banking/reviews/",
    }

    with translation.override("ko"):
        text = render_to_string("triage/email/digest.txt", context)
        html = render_to_string("triage/email/digest.html", context)

    assert text.startswith("Banking 주간 리뷰 (2026-11-30 이후)\n")
    assert "새 카테고리:\n  - 결제 오류 (12건)" in text
    assert "늘고 있는 카테고리:\n  - 결제 오류 (12건, +50 %)" in text
    assert "기한이 지난 개선 항목:\n  - 환불 안내 개선 (기한 2026-12-01, Open)" in text
    assert "보드: https://voc.example/p/banking/board/" in text
    assert "<h2>Banking 주간 리뷰</h2>" in html and "리뷰 시작하기" in html
    assert "items" not in text + html


def test_a_form_error_and_its_choice_labels_are_in_korean(project):
    from dashboards.forms import OverviewForm

    data = {"period": "custom", "since": "2026-02-01", "until": "2026-01-01"}

    with translation.override("ko"):
        form = OverviewForm(data, project=project)
        errors = form.errors["until"]
        period = str(form["period"])
    with translation.override("en"):
        english = OverviewForm(data, project=project)
        english_errors, english_period = english.errors["until"], str(english["period"])

    assert errors == ["시작일보다 뒤여야 합니다."]
    assert "최근 7일" in period and "직접 지정" in period
    assert english_errors == ["Must be after the start date."]
    assert "last 7 days" in english_period


def test_a_stored_problem_of_an_import_reads_korean_where_it_is_shown():
    from feedback import csvparse

    with translation.override("ko"):
        too_long = csvparse.message_translated(csvparse.TEXT_TOO_LONG)
        no_header = csvparse.message_translated(csvparse.NO_HEADER)
        unknown = csvparse.message_translated("Something else.")

    assert too_long == "5,000자보다 깁니다."
    assert no_header == "파일에 머리글 행이 없습니다."
    assert unknown == "Something else."


def test_model_choice_labels_render_in_korean_and_stay_english_otherwise():
    from triage.forms import StateForm
    from triage.models import ImprovementPoint

    with translation.override("ko"):
        select = str(StateForm()["state"])
        role = str(Membership.Role.REVIEWER.label)
        kind = str(ImprovementPoint.Kind.TRAINING_DATA.label)
    with translation.override("en"):
        english = str(StateForm()["state"])

    assert ">수정 안 함</option>" in select and ">재발</option>" in select
    assert (role, kind) == ("검토자", "학습 데이터")
    assert ">Triaging</option>" in english and ">Regressed</option>" in english
