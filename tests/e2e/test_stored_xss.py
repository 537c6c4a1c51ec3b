"""Stored XSS: customer and team text carrying attack payloads is stored everywhere it can be,
then every team page (and the customer's page) is opened in headless Chromium.

Figures: pages opened, payloads stored, dialogs (must be 0), payload scripts that ran (must be
0), live payload elements in the DOM (must be 0), pages without a CSP header (must be 0).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboards.models import AlertEvent, AlertRule
from feedback.links import link_token_create, link_token_sign
from feedback.models import ImportJob, Membership
from lifecycle.models import Erasure
from tests.e2e.conftest import log_in
from tests.factories import FeedbackFactory, PredictionFactory, ProjectFactory, UserFactory
from tests.security.routes import fill, routes
from triage.models import Comment, ErrorCategory, ItemAssignment, ReferenceDataset
from triage.services.export_build import export_build
from triage.services.exports import export_request
from triage.services.improvements import improvement_create
from triage.services.reviews import review_start

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each payload that runs bumps window.__xss or opens a dialog.
PAYLOADS = [
    "<script>window.__xss=(window.__xss||0)+1</script>",
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '"><svg onload=alert(1)>',
    "'><details open ontoggle=alert(1)>",
    "javascript:alert(1)",
    '</script><script>alert("json break-out")</script>',
    '{"a": "</script><img src=x onerror=alert(1)>"}',
    "[click me](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    '<a href="javascript:alert(1)">link</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<style>@import 'javascript:alert(1)'</style>",
    "{{ 7*7 }}{% debug %}",
    '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    "<form action=javascript:alert(1)><button>go</button></form>",
]
LABEL = "<img src=x onerror=\"alert('label')\">"

# What a page must not contain: an element a payload made live.
LIVE_PAYLOAD_ELEMENTS = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value.toLowerCase().trim();
      if (name.startsWith('on') && /alert|__xss/.test(value)) found.push(el.outerHTML.slice(0, 120));
      if (['href', 'src', 'action', 'formaction'].includes(name) && value.startsWith('javascript:'))
        found.push(el.outerHTML.slice(0, 120));
    }
    if (el.tagName === 'SCRIPT' && /alert|__xss/.test(el.textContent)) found.push('inline script');
  }
  return found;
}"""


@pytest.fixture
def poisoned(transactional_db):
    project = ProjectFactory(name=PAYLOADS[1], labels=["card_arrival", LABEL],
                             label_names={LABEL: PAYLOADS[2]})  # fmt: skip
    admin = UserFactory(username="admin-xss")
    Membership.objects.create(project=project, user=admin, role="admin", team="data")
    member = Membership.objects.create(
        project=project, role="viewer",
        user=UserFactory(username=PAYLOADS[0][:150], email=f"x@example.com{PAYLOADS[1]}"[:254]),
    )  # fmt: skip
    categories = []
    for number, payload in enumerate(PAYLOADS):
        prediction = PredictionFactory(
            project=project, input_text=payload, predicted_label=LABEL,
            scores={LABEL: 0.6, "card_arrival": 0.4}, metadata={"note": payload},
        )  # fmt: skip
        complaint = FeedbackFactory(prediction=prediction, kind="complaint", text=payload,
                                    corrected_label="", external_id=payload[:200])  # fmt: skip
        FeedbackFactory(
            prediction=prediction, kind="correction", corrected_label=LABEL, text=payload
        )
        category = ErrorCategory.objects.create(
            project=project, title=payload, keywords=[payload, LABEL], size=3 + number
        )
        ItemAssignment.objects.create(feedback=complaint, category=category)
        Comment.objects.create(project=project, category=category, author=admin, body=payload)
        categories.append(category)
    point = improvement_create(
        project=project, categories=categories[:3], actor=admin, title=PAYLOADS[0],
        kind="training_data", description="\n\n".join(PAYLOADS),
    )  # fmt: skip
    Comment.objects.create(project=project, improvement=point, author=admin, body=PAYLOADS[7])
    review, _ = review_start(project=project, actor=admin)
    review.decisions = "\n\n".join(PAYLOADS)
    review.save()
    job = ImportJob.objects.create(project=project, created_by=admin, file_name=PAYLOADS[1],
                                   header=PAYLOADS[:4])  # fmt: skip
    export = export_request(project=project, format="csv", actor=admin)
    export_build(export_id=export.id)
    reference = ReferenceDataset.objects.create(
        project=project, name=PAYLOADS[3], text_column=PAYLOADS[4], format="csv",
        sha256=PAYLOADS[6][:64], size_bytes=1, rows=2, skipped=1, key_count=1,
        problems=[f"line 2: {PAYLOADS[5]}"], keys="references/none.npy", created_by=admin,
        status="failed", error=f"Text column: no column {PAYLOADS[2]!r}",
    )  # fmt: skip
    rules = [
        AlertRule.objects.create(
            project=project, name=payload, metric="correction_rate", threshold=0.1,
            email_to=payload, webhook_url=payload,
        )
        for payload in PAYLOADS
    ]  # fmt: skip
    for rule, payload in zip(rules, PAYLOADS, strict=True):
        AlertEvent.objects.create(
            rule=rule, project=project, opened_at=timezone.now(), value=0.5,
            window_start=timezone.now(), window_end=timezone.now(),
            deliveries=[{"transition": payload, "channel": payload, "ok": False,
                         "refused": True, "detail": payload}],
        )  # fmt: skip
    erasure = Erasure.objects.create(
        project=project, customer_hash="0" * 64, error=PAYLOADS[2], requested_by=admin
    )
    ids = {
        "category_id": categories[1].id, "point_id": point.id, "review_id": review.id,
        "feedback_id": complaint.id, "job_id": job.id, "run_id": 0,
        "request_id": prediction.request_id, "export_id": export.id, "rule_id": rules[1].id,
        "membership_id": member.id, "reference_id": reference.id, "erasure_id": erasure.id,
    }  # fmt: skip
    claims = link_token_create(
        project_id=project.id, prediction_id=prediction.id, lifetime=timedelta(days=1)
    )
    return project, admin, ids, link_token_sign(claims)


def test_no_payload_runs_on_any_team_page(page, poisoned, figures):
    project, admin, ids, token = poisoned
    log_in(page, admin)
    paths = [
        fill(route, {"slug": project.slug, **ids})
        for route, _ in routes()
        if not route.startswith("api/") and "<int:run_id>" not in route
    ]
    paths += [f"/p/{project.slug}/categories/{c}/" for c in
              ErrorCategory.objects.filter(project=project).values_list("id", flat=True)]  # fmt: skip
    paths.append(f"/f/{token}")
    opened, ran, live, without_csp, skipped = 0, [], [], [], []
    for path in paths:
        # Asked first without navigating (same cookies): a POST-only action URL or a file
        # download would leave the tab on an error page, whose navigation then interrupts
        # the next page's.
        probe = page.request.get(path)
        if probe.status >= 400 or "text/html" not in probe.headers.get("content-type", ""):
            skipped.append(f"{path}: {probe.status} {probe.headers.get('content-type')}")
            continue
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        opened += 1
        page.wait_for_load_state("networkidle")
        if "content-security-policy" not in response.headers:
            without_csp.append(path)
        if page.evaluate("() => window.__xss"):
            ran.append(path)
        live += [f"{path}: {element}" for element in page.evaluate(LIVE_PAYLOAD_ELEMENTS)]
    figures.update(
        payloads=len(PAYLOADS) + 1, pages_opened=opened, dialogs=len(page.dialogs),
        scripts_run=len(ran), live_payload_elements=len(live), pages_without_csp=len(without_csp),
    )  # fmt: skip
    assert opened >= 15, skipped
    assert page.dialogs == [] and ran == [] and live == [] and without_csp == []
    assert page.errors == []


def test_the_check_catches_a_payload_that_runs(page):
    """The control: the same checks on a page that does render a payload."""
    page.goto("about:blank")  # no CSP here, unlike every page of ours
    page.set_content("<img src=x onerror=\"window.__xss=1;alert(1)\"><a href='javascript:x'>a</a>")
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__xss") == 1 and page.dialogs == ["1"]
    assert len(page.evaluate(LIVE_PAYLOAD_ELEMENTS)) == 2
