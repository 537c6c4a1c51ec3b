"""The quality page's reviewer findings: counted apart from the customers' figures."""

import pytest

from dashboards.quality.reviewers import VerdictRow, reviewer_findings
from dashboards.services.rollups import rollup_pass
from feedback.models import Prediction
from tests.helpers import login
from triage.models import ReviewerLabel

from .test_views import PERIOD, chart, csv_rows, section_rows, url


def test_findings_count_each_kind_of_verdict_per_version():
    rows = [
        VerdictRow(1, "card_arrival", "card_not_working", ""),  # unreported, wrong
        VerdictRow(1, "card_arrival", "card_arrival", ""),  # unreported, right
        VerdictRow(1, "card_arrival", "lost_card", "lost_card"),  # accepted
        VerdictRow(1, "card_arrival", "card_arrival", "lost_card"),  # rejected: model right
        VerdictRow(2, "exchange_rate", "exchange_fee", "transfer"),  # relabelled
        VerdictRow(9, "x", "y", ""),  # a version not shown
    ]

    findings = reviewer_findings(rows, {1: "v1", 2: "v2"})

    v1, v2 = findings["versions"]
    assert (v1["version"], v1["reviewed"], v1["wrong"]) == ("v1", 4, 2)
    assert (v1["unreported"], v1["unreported_wrong"], v1["judged"]) == (2, 1, 2)
    assert (v1["accepted"], v1["rejected"], v1["relabelled"]) == (1, 1, 0)
    assert v1["share_wrong"] == 0.5 and v1["ci"][0] < 0.5 < v1["ci"][1]
    assert (v2["reviewed"], v2["relabelled"], v2["accepted"]) == (1, 1, 0)
    assert (findings["reviewed"], findings["wrong"]) == (5, 3)
    assert findings["pairs"][0] == {
        "predicted": "card_arrival",
        "label": "card_not_working",
        "count": 1,
    }
    assert len(findings["pairs"]) == 3


def test_the_page_shows_reviewer_findings_and_leaves_the_online_rates_alone(
    client, traffic_project
):
    rollup_pass()
    login(client, traffic_project, "viewer")
    before = section_rows(client.get(url(traffic_project), PERIOD), "rates")["table"]["rows"]
    assert "reviewers" not in [
        s["id"] for s in client.get(url(traffic_project), PERIOD).context["data"]["sections"]
    ]
    unreported = Prediction.objects.filter(project=traffic_project, feedback__isnull=True)
    wrong, right = unreported[:2]
    for prediction, label in ((wrong, "zz_found_by_reviewer"), (right, right.predicted_label)):
        ReviewerLabel.objects.create(
            project=traffic_project, prediction=prediction, reviewer="rita", label=label
        )
    ReviewerLabel.objects.create(  # a skip is no finding
        project=traffic_project, prediction=unreported[2], reviewer="rita", label=""
    )
    rollup_pass()

    response = client.get(url(traffic_project), PERIOD)

    section = section_rows(response, "reviewers")
    assert sum(row[1] for row in section["table"]["rows"]) == 2  # reviewed
    assert sum(row[2] for row in section["table"]["rows"]) == 1  # found wrong
    assert chart(response, "reviewers")["labels"] == [
        f"{wrong.predicted_label} → zz_found_by_reviewer"
    ]
    assert section_rows(response, "rates")["table"]["rows"] == before
    download = client.get(url(traffic_project), {**PERIOD, "csv": "reviewers"})
    assert csv_rows(download)[0][:3] == ["model_version", "reviewed", "found_wrong"]


@pytest.mark.parametrize("language", ["ko"])
def test_the_section_reads_in_korean(client, traffic_project, language):
    prediction = Prediction.objects.filter(project=traffic_project).first()
    ReviewerLabel.objects.create(
        project=traffic_project, prediction=prediction, reviewer="rita", label="lost_card"
    )
    rollup_pass()
    login(client, traffic_project, "viewer")

    response = client.get(url(traffic_project), PERIOD, HTTP_ACCEPT_LANGUAGE=language)

    section = section_rows(response, "reviewers")
    assert section["title"] != "Reviewer findings"
    assert "Reviewed" not in section["table"]["headings"]
