"""The Korean demo read by a Korean-speaking team: every team page in Korean, with no English
left on screen except names (the product, API, CSV, UTC) and data that is not text (label ids,
file names, user names). Screenshots of the board, a category and the quality page go to
test-artifacts/ko-*.png."""

import os
import re
from pathlib import Path

import pytest

from core.models import UserPreference
from dashboards.services.demo import demo_alerts_setup
from feedback.demo import demo_load
from feedback.models import Feedback, Membership, Project
from feedback.replay import CHANNELS, KIOSK
from tests.e2e.conftest import ARTIFACTS, log_in
from tests.factories import UserFactory
from tests.triage.conftest import REPLAY_END
from triage.models import ClusteringSettings, ErrorCategory
from triage.services.clustering import clustering_run_execute, clustering_run_request
from triage.services.improvements import improvement_create
from triage.services.review_queue import review_queue_refresh
from triage.services.reviews import review_start

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VISIBLE_TEXT = (Path(__file__).resolve().parent / "visible_text.js").read_text()
KOREAN_DATA = Path(__file__).resolve().parents[2] / "feedback" / "demo_data" / "banking77_ko"
# Words that read the same in a Korean product: names, formats, units and standards.
NAMES = {"URL", "VoC", "Triage", "API", "CSV", "JSON", "Lines", "JSONL", "Parquet", "UTC", "SLA"}
NAMES |= {"English", "sha", "UTF", "EUC", "Excel", "GDPR", "LSA", "TF", "IDF", "PSI"}
# Data, not interface: label ids, versions, e-mail addresses, host names, the project's name.
DATA_WORD = re.compile(
    r"\b[a-z0-9-]+\.(?:internal|com|org|net)\b|\b[a-z0-9]+(?:_[a-z0-9]+)+\b|\bv\d[\w.-]*|\S+@\S+|https?://\S+|= Card delivery|\bBanking77\b|\bflagged\b"
)


def customer_words() -> set[str]:
    """Latin words of the Korean customers' own text (ATM, PIN, google pay...)."""
    text = " ".join(path.read_text("utf-8") for path in KOREAN_DATA.glob("*.csv"))
    text += (KOREAN_DATA / "complaints_ko.json").read_text("utf-8")
    return set(re.findall(r"[A-Za-z]{3,}", text)) | {
        w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)
    }


@pytest.fixture
def korean_team(transactional_db):
    """The Korean replay as `make run LANGUAGE=ko` leaves it, a weekly review and an
    improvement point, and an admin who reads Korean. Returns (admin, pages)."""
    demo_load(slug="banking77-ko", end=REPLAY_END, language="ko")
    project = Project.objects.get(slug="banking77-ko")
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run, _ = clustering_run_request(project=project)
    clustering_run_execute(run_id=run.id, task_id="ko-pages")
    demo_alerts_setup(project=project, language="ko")
    admin = UserFactory(username="ada")
    Membership.objects.create(project=project, user=admin, role="admin", team="model")
    UserPreference.objects.create(user=admin, language="ko")
    category = (
        ErrorCategory.objects.filter(project=project, is_unsorted=False, merged_into__isnull=True)
        .order_by("-size", "id")
        .first()
    )
    point = improvement_create(
        project=project, categories=[category], actor=admin, title="카드 배송 예시 보강",
        kind="training_data", description="이 카테고리의 혼동을 다시 라벨링합니다.",
    )  # fmt: skip
    review, _ = review_start(project=project, actor=admin)
    feedback = Feedback.objects.filter(project=project, kind="correction").first()
    review_queue_refresh(project=project)
    slug = project.slug
    pages = {
        "projects": "/",
        "project-home": f"/p/{slug}/",
        "board": f"/p/{slug}/board/",
        "categories": f"/p/{slug}/categories/",
        "category": f"/p/{slug}/categories/{category.id}/",
        "inbox": f"/p/{slug}/inbox/",
        "feedback": f"/p/{slug}/inbox/{feedback.id}/",
        "review-queue": f"/p/{slug}/review-queue/",
        "improvements": f"/p/{slug}/improvements/",
        "improvement": f"/p/{slug}/improvements/{point.id}/",
        "reviews": f"/p/{slug}/reviews/",
        "review": f"/p/{slug}/reviews/{review.id}/",
        "exports": f"/p/{slug}/exports/",
        "quality": f"/p/{slug}/quality/",
        "alerts": f"/p/{slug}/quality/alerts/",
        "imports": f"/p/{slug}/imports/",
        "members": f"/p/{slug}/members/",
        "privacy": f"/p/{slug}/privacy/",
        "settings": f"/p/{slug}/settings/",
    }
    return admin, pages


def english_words(text: str, allowed: set[str]) -> list[str]:
    text = DATA_WORD.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in allowed]


def test_the_korean_demo_reads_in_korean_on_every_team_page(page, korean_team):
    admin, pages = korean_team
    log_in(page, admin)
    page.set_viewport_size({"width": 1400, "height": 1000})
    # The predictions' metadata is data too (the Segments section names its keys and values).
    metadata = {"channel", "locale", KIOSK, *CHANNELS}
    allowed = NAMES | customer_words() | metadata | {admin.get_username()}
    left = {}
    for name, path in pages.items():
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        assert response.status == 200, f"{name}: HTTP {response.status}"
        assert page.locator("html").get_attribute("lang") == "ko", name
        if name in {"board", "category", "quality"}:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"ko-{name}.png"), full_page=name != "board")
        text = page.evaluate(VISIBLE_TEXT)
        if os.environ.get("VOC_KO_TEXT_DIR"):  # what the reader saw, to look at a failure
            Path(os.environ["VOC_KO_TEXT_DIR"], f"{name}.txt").write_text(text, "utf-8")
        words = english_words(text, allowed)
        if words:
            left[name] = sorted(set(words))
    assert not left, "English on the Korean pages:\n" + "\n".join(
        f"{name}: {' '.join(words)}" for name, words in left.items()
    )
