"""The layout guard: every team page of the demo, at a desktop and a phone size, in headless
Chromium. A page fails when a form control overlaps another, something overflows a box that
does not scroll (or the page scrolls sideways), a header, badge or button breaks inside a word,
the console shows an error (a missing file included), or axe-core finds a WCAG 2 A/AA
violation. Screenshots of each page go to test-artifacts/guard-*.png."""

import os
from pathlib import Path

import pytest

from core.models import UserPreference
from dashboards.services.demo import demo_alerts_setup
from feedback.models import Feedback, Membership, Project
from tests.e2e.conftest import ARTIFACTS, log_in, screenshot
from tests.factories import UserFactory
from tests.feedback.imports.helpers import EXPORT, run_import
from tests.triage.conftest import REPLAY_END, cached_replay
from triage.models import ClusteringSettings, ErrorCategory
from triage.services.clustering import clustering_run_execute, clustering_run_request
from triage.services.comments import comment_add
from triage.services.correction_flags import correction_flags_refresh
from triage.services.export_build import export_build
from triage.services.exports import export_request
from triage.services.improvements import improvement_create
from triage.services.review_queue import review_queue_refresh
from triage.services.reviews import review_start

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HERE = Path(__file__).resolve().parent
LAYOUT_CHECKS = (HERE / "layout_checks.js").read_text()
AXE_SOURCE = (HERE / "vendor" / "axe.min.js").read_text()
AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""
# VOC_GUARD_PAGES=board,category checks only those pages (while working on them);
# VOC_GUARD_LANGUAGES=en only English.
ONLY = {name for name in os.environ.get("VOC_GUARD_PAGES", "").split(",") if name}
README_PAGES = {"board", "category", "quality"}
LANGUAGES = os.environ.get("VOC_GUARD_LANGUAGES", "en,ko").split(",")
SIZES = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def demo_team(transactional_db, monkeypatch):
    """The Banking77 demo as `make run` leaves it, plus one of everything a page lists: a
    review, an improvement point, a built export, an import, a comment. Returns (admin, pages)."""
    from feedback.demo import demo_load

    monkeypatch.setattr("feedback.demo.build_replay", lambda *a, **k: cached_replay(0))
    demo_load(slug="banking77", end=REPLAY_END)
    project = Project.objects.get(slug="banking77")
    ClusteringSettings.objects.create(project=project, representation="lsa")
    run, _ = clustering_run_request(project=project)
    clustering_run_execute(run_id=run.id, task_id="guard")
    demo_alerts_setup(project=project)
    admin = UserFactory(username="ada")
    Membership.objects.create(project=project, user=admin, role="admin", team="model")
    for name, role in (("rita", "reviewer"), ("vic", "viewer")):
        Membership.objects.create(project=project, user=UserFactory(username=name), role=role)

    category = (
        ErrorCategory.objects.filter(project=project, is_unsorted=False, merged_into__isnull=True)
        .order_by("-size", "id")
        .first()
    )
    comment_add(target=category, author=admin, body="Seen in **every** week; @rita can you look?")
    point = improvement_create(
        project=project, categories=[category], actor=admin, title="Add card-arrival examples",
        kind="training_data", description="Relabel the confusions of this category.",
    )  # fmt: skip
    review, _ = review_start(project=project, actor=admin)
    export = export_request(project=project, format="csv", actor=admin)
    export_build(export_id=export.id)
    job = run_import(project, EXPORT)
    feedback = Feedback.objects.filter(project=project, kind="correction").first()

    review_queue_refresh(project=project)
    correction_flags_refresh(project=project)  # the likely-wrong badges of items
    slug = project.slug
    inbox_filters = (  # every filter set, and still rows to lay out
        "?q=card&kind=complaint&model_version=&predicted_label=&corrected_label=&source=widget"
        "&since=2020-01-01&until=2030-12-31&triage_state=&include_superseded=on"
    )
    pages = {
        "projects": "/",
        "project-home": f"/p/{slug}/",
        "board": f"/p/{slug}/board/",
        "categories": f"/p/{slug}/categories/",
        "category": f"/p/{slug}/categories/{category.id}/",
        "inbox": f"/p/{slug}/inbox/{inbox_filters}",
        "inbox-corrections": f"/p/{slug}/inbox/?kind=correction",
        "feedback": f"/p/{slug}/inbox/{feedback.id}/",
        "review-queue": f"/p/{slug}/review-queue/",
        "improvements": f"/p/{slug}/improvements/",
        "improvement-new": f"/p/{slug}/improvements/new",
        "improvement": f"/p/{slug}/improvements/{point.id}/",
        "reviews": f"/p/{slug}/reviews/",
        "review": f"/p/{slug}/reviews/{review.id}/",
        "exports": f"/p/{slug}/exports/",
        "export": f"/p/{slug}/exports/{export.id}/",
        "quality": f"/p/{slug}/quality/",
        "alerts": f"/p/{slug}/quality/alerts/",
        "imports": f"/p/{slug}/imports/",
        "import": f"/p/{slug}/imports/{job.id}/",
        "members": f"/p/{slug}/members/",
        "privacy": f"/p/{slug}/privacy/",
        "settings": f"/p/{slug}/settings/",
    }
    return admin, pages


def page_problems(page, name: str, path: str, size: str) -> list[str]:
    console: list[str] = []

    def record(message):
        if message.type == "error":
            console.append(message.text)

    page.on("console", record)
    response = page.goto(path)
    page.wait_for_load_state("networkidle")
    page.remove_listener("console", record)
    problems = [f"HTTP {response.status}"] if response.status != 200 else []
    language = size.partition("-")[2] or "en"  # "phone-ko": the page must be in Korean
    if page.locator("html").get_attribute("lang") != language:
        problems.append(f"the page is not in {language}")
    problems += [f"console: {text}" for text in console] + [f"script: {e}" for e in page.errors]
    page.errors.clear()
    problems += [f"{p['check']}: {p['where']}: {p['detail']}" for p in page.evaluate(LAYOUT_CHECKS)]
    if name == "inbox" and page.locator("table tbody tr").count() < 10:
        problems.append("the inbox's filters left fewer than 10 rows to lay out")
    page.evaluate(AXE_SOURCE)  # the DevTools protocol runs it, so the page's CSP does not apply
    for violation in page.evaluate(AXE_RUN):
        problems.append(
            f"axe {violation['id']} ({violation['impact']}, {violation['nodes']} nodes): "
            f"{violation['help']}: {', '.join(violation['targets'])}"
        )
    screenshot(page, f"guard-{name}-{size}")
    if size == "desktop" and name in README_PAGES:  # what docs/screenshots/ shows
        page.screenshot(path=str(ARTIFACTS / f"readme-{name}.png"))
    return [f"{name} @ {size}: {problem}" for problem in problems]


def test_every_team_page_holds_its_layout_and_is_accessible_at_both_sizes(page, demo_team):
    """In English, then in Korean (the member's language setting): Korean text is set in
    other widths, and what is translated must fit as well."""
    admin, pages = demo_team
    log_in(page, admin)
    problems = []
    for language in LANGUAGES:
        UserPreference.objects.update_or_create(user=admin, defaults={"language": language})
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            label = size if language == "en" else f"{size}-{language}"
            for name, path in pages.items():
                if ONLY and name not in ONLY:
                    continue
                problems += page_problems(page, name, path, label)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_login_page_is_clean(page):
    if ONLY and "login" not in ONLY:
        pytest.skip("VOC_GUARD_PAGES leaves the login page out")
    problems = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        problems += page_problems(page, "login", "/accounts/login/", size)
    assert not problems, "\n".join(problems)


def test_the_api_documentation_runs_under_the_same_policy(page, project):
    """Swagger UI (drf-spectacular's sidecar files) draws the API without a console error."""
    user = UserFactory()
    Membership.objects.create(project=project, user=user, role="viewer")
    log_in(page, user)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))

    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")

    assert errors == [] and page.errors == []
