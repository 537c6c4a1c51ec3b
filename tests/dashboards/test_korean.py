"""The quality and alerts pages in Korean for a member who chose it; the CSV stays English."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

from core.models import UserPreference
from dashboards.models import AlertEvent, AlertRule
from dashboards.services.rollups import rollup_pass
from feedback.models import ModelVersion
from tests.helpers import login

pytestmark = pytest.mark.django_db

PERIOD = {"period": "custom", "since": "2025-03-01", "until": "2025-03-10"}
# Words that read the same in Korean: metric and format names.
NAMES = {"CSV", "SLA", "PSI", "UTC", "URL"}
# What a reader scans first: titles, table headings, summaries, legends, labels and buttons.
HEADINGS = r"<(h[1-6]|th|summary|legend|label|button)\b[^>]*>(.*?)</\1>"


def korean_member(client, project, role):
    user = login(client, project, role)
    UserPreference.objects.create(user=user, language="ko")
    return user


def english_in_headings(page: str) -> list[str]:
    """English words left in the page's headings; identifiers (labels, versions) and
    the names above aside."""
    page = re.sub(r'<span class="ident">.*?</span>', " ", page, flags=re.S)
    words = []
    for _, inner in re.findall(HEADINGS, page, flags=re.S):
        text = re.sub(r"<[^>]+>", " ", inner)
        words += [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in NAMES]
    return words


def test_the_quality_page_speaks_korean(client, traffic_project):
    ModelVersion.objects.filter(project=traffic_project, version="v2").update(
        offline_metrics={"accuracy": 0.9}
    )
    rollup_pass()
    korean_member(client, traffic_project, "admin")

    page = client.get(f"/p/{traffic_project.slug}/quality/", PERIOD).content.decode()

    assert '<h1 class="mb-1">온라인 품질</h1>' in page
    for heading in (
        "한눈에 보기",
        "정정률과 문의율",
        "오프라인 대 온라인",
        "정정으로 본 혼동",
        "예측 쏠림",
        "드리프트",
        "신뢰도와 정정",
        "서비스 지표",
        "가장 많이 혼동한 레이블 쌍",
        "임계값 살펴보기",
    ):
        assert heading in page, heading
    assert "예측과 연결되지 않은 문의 5건" in page
    assert "<th>구간 시작</th>" in page and "<th>bucket_start</th>" not in page
    assert "<summary>수치</summary>" in page and "목표: SLA p95" in page
    assert "<strong>v2</strong>의 정정이 <strong>v1</strong>보다" in page.replace(
        '<span class="ident">', ""
    ).replace("</span>", "")
    assert english_in_headings(page) == []
    for english in ("Online quality", "At a glance", "Service figures", "Numbers", "flagged<"):
        assert english not in page, english
    # The charts' legends and axis titles travel in their JSON, translated.
    rates = re.search(r'<script id="chart-rates" type="application/json">(.*?)</script>', page)
    assert json.loads(rates.group(1))["text"]["correction"] == "{version} 정정률"
    # Percentages as both languages write them: the sign right after the number.
    assert re.search(r"\d %", page) is None and re.search(r"\d%", page)


def test_the_quality_csv_stays_english_for_a_korean_reader(client, traffic_project):
    rollup_pass()
    korean_member(client, traffic_project, "viewer")

    response = client.get(f"/p/{traffic_project.slug}/quality/", {**PERIOD, "csv": "drift"})

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["bucket_start", "model_version", "predictions"]
    reference = rows[0].index("reference")
    assert len(rows) > 1 and {row[reference] for row in rows[1:]} <= {"v1's first 14 days"}
    assert not re.search(r"[가-힣]", response.content.decode())


def test_the_alerts_page_speaks_korean(client, project):
    rule = AlertRule.objects.create(
        project=project,
        name="정정 급증",
        metric="correction_rate",
        comparator="gt",
        threshold=0.1,
        window_hours=6,
        min_volume=100,
        email_to="oncall@example.com",
        webhook_url="https://hooks.example.com/x",
    )
    opened = datetime(2025, 5, 1, 3, tzinfo=UTC)
    AlertEvent.objects.create(
        rule=rule,
        project=project,
        opened_at=opened,
        value=0.1333,
        predictions=600,
        window_start=opened,
        window_end=opened,
        deliveries=[
            {"transition": "opened", "channel": "email", "ok": True},
            {"transition": "opened", "channel": "webhook", "ok": False, "refused": True},
        ],
    )
    korean_member(client, project, "admin")

    page = client.get(f"/p/{project.slug}/quality/alerts/").content.decode()

    assert '<h1 class="mb-1">알림</h1>' in page
    for text in (
        "규칙",
        "경보 이력",
        "최근 6시간 정정률 &gt; 0.1 (예측 100건 이상일 때)",
        "이메일: oncall@example.com",
        "사용 중",
        "진행 중 1건",
        "발생 알림 이메일: 발송됨",
        "발생 알림 웹훅: 거부됨",
        "새 규칙",
        "웹훅 허용 목록",
    ):
        assert text in page, text
    assert english_in_headings(page) == []
    for english in ("Alerts", "Events", "New rule", ">enabled<", "opened email"):
        assert english not in page, english


def test_a_rules_condition_reads_the_same_in_english(project):
    rule = AlertRule(
        project=project,
        name="r",
        metric="correction_rate",
        comparator="gte",
        threshold=0.25,
        window_hours=24,
        min_volume=50,
    )

    assert rule.describe() == "correction rate ≥ 0.25 over 24 h (min. 50 predictions)"
