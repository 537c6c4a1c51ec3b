import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from feedback.models import ApiKey, Project

pytestmark = pytest.mark.django_db


def test_create_project_reads_a_labels_file(tmp_path, capsys):
    labels = tmp_path / "labels.txt"
    labels.write_text("# intents\ncard_arrival\tWhere is my card?\n\nexchange_rate\n")

    call_command("create_project", "bank", "--name", "Bank bot", "--labels-file", str(labels))

    project = Project.objects.get(slug="bank")
    assert project.labels == ["card_arrival", "exchange_rate"]
    assert project.label_display("card_arrival") == "Where is my card?"
    assert project.label_display("exchange_rate") == "Exchange rate"


def test_a_labels_file_gives_names_in_other_languages_and_names_a_bad_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("card_arrival\tCard arrival\tko:카드 배송\nexchange_rate\t\tko:환율\n")

    call_command("create_project", "bank", "--name", "Bank", "--labels-file", str(labels))

    project = Project.objects.get(slug="bank")
    assert project.label_translations == {
        "ko": {"card_arrival": "카드 배송", "exchange_rate": "환율"}
    }
    assert project.label_display("exchange_rate", "ko") == "환율"
    assert project.label_display("exchange_rate", "en") == "Exchange rate"

    labels.write_text("card_arrival\tCard arrival\n\nrefund\tRefund\t카드\n")
    with pytest.raises(CommandError, match="line 3: write language:name"):
        call_command("create_project", "other", "--name", "Other", "--labels-file", str(labels))


def test_create_project_refuses_a_duplicate_slug():
    call_command("create_project", "bank", "--name", "Bank")

    with pytest.raises(CommandError, match="slug"):
        call_command("create_project", "bank", "--name", "Again")


def test_create_api_key_prints_a_working_key_once(capsys):
    call_command("create_project", "bank", "--name", "Bank")

    call_command("create_api_key", "bank", "--scopes", "ingest,read")

    full_key = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiKey.objects.get().scopes == ["ingest", "read"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {full_key}")
    response = client.post(
        "/api/v1/projects/bank/predictions",
        {"predictions": [{"request_id": "a", "model_version": "v1", "input_text": "q",
                          "predicted_label": "x"}]},
        format="json",
    )  # fmt: skip
    assert response.json()["accepted"] == 1


def test_create_api_key_rejects_unknown_scopes():
    call_command("create_project", "bank", "--name", "Bank")

    with pytest.raises(CommandError, match="scopes"):
        call_command("create_api_key", "bank", "--scopes", "admin")
