"""Cross-project access: with a login or key of project A, every page and API operation is
tried with project B's slug, and with A's slug and B's ids. Routes are enumerated from the URL
configuration, so a new route is swept as soon as it exists (or fails here until it has ids).

Figures: attempts made, successes (must be 0), responses revealing B's data (must be 0), and
B's rows changed by the attempts (must be 0).
"""

import hashlib
import json

import pytest
from django.core import serializers as django_serializers
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from dashboards.models import AlertEvent, AlertRule
from feedback.models import ApiKey, Feedback, ImportJob, Membership, Prediction
from feedback.services import api_key_create
from lifecycle.models import Erasure
from tests.factories import (
    ErrorCategoryFactory,
    FeedbackFactory,
    PredictionFactory,
    ProjectFactory,
    UserFactory,
)
from tests.helpers import login
from tests.security.routes import fill, routes
from triage.models import (
    ClusteringRun,
    Comment,
    ErrorCategory,
    ImprovementPoint,
    ItemAssignment,
    ReferenceDataset,
)
from triage.services.export_build import export_build
from triage.services.exports import export_request
from triage.services.improvements import improvement_create
from triage.services.reviews import review_start

pytestmark = pytest.mark.django_db

SECRET = "b-secret-4f1c"  # in every text of project B: must never reach A
METHODS = ("get", "post", "patch", "delete")


@pytest.fixture
def world_b():
    """Project B with one of everything, each text carrying SECRET."""
    project = ProjectFactory(name=f"B {SECRET}")
    owner = UserFactory()
    Membership.objects.create(project=project, user=owner, role="admin")
    member = Membership.objects.create(
        project=project, user=UserFactory(username=f"member-{SECRET}"), role="viewer"
    )
    prediction = PredictionFactory(project=project, input_text=f"input {SECRET}")
    feedback = FeedbackFactory(prediction=prediction, text=f"complaint {SECRET}")
    category = ErrorCategoryFactory(project=project, title=f"category {SECRET}")
    ItemAssignment.objects.create(feedback=feedback, category=category)
    point = improvement_create(
        project=project, categories=[category], actor=owner, title=f"point {SECRET}",
        kind="training_data",
    )  # fmt: skip
    Comment.objects.create(
        project=project, category=category, author=owner, body=f"comment {SECRET}"
    )
    review, _ = review_start(project=project, actor=owner)
    job = ImportJob.objects.create(project=project, created_by=owner, file_name=f"{SECRET}.csv")
    job.file.save("b.csv", ContentFile(f"text\n{SECRET}\n".encode()))
    run = ClusteringRun.objects.create(project=project)
    export = export_request(project=project, format="csv", actor=owner)
    export_build(export_id=export.id)
    reference = ReferenceDataset.objects.create(
        project=project, name=f"training {SECRET}.csv", text_column="text", format="csv",
        sha256="0" * 64, size_bytes=1, rows=1, skipped=0, key_count=1, keys="references/b.npy",
    )  # fmt: skip
    rule = AlertRule.objects.create(
        project=project, name=f"rule {SECRET}", metric="correction_rate", threshold=0.1,
        email_to=f"{SECRET}@example.com",
    )  # fmt: skip
    AlertEvent.objects.create(
        rule=rule, project=project, opened_at=timezone.now(), value=0.5,
        window_start=timezone.now(), window_end=timezone.now(),
        deliveries=[{"transition": "opened", "channel": "email", "ok": False, "detail": SECRET}],
    )  # fmt: skip
    erasure = Erasure.objects.create(project=project, customer_hash="b" * 64, error=SECRET)
    ids = {
        "category_id": category.id, "point_id": point.id, "review_id": review.id,
        "feedback_id": feedback.id, "job_id": job.id, "run_id": run.id,
        "request_id": prediction.request_id, "export_id": export.id, "rule_id": rule.id,
        "membership_id": member.id, "reference_id": reference.id, "erasure_id": erasure.id,
    }  # fmt: skip
    return project, ids


def snapshot(project) -> str:
    """A digest of B's rows, to prove the attempts changed nothing."""
    rows = []
    for model in (
        Prediction, Feedback, ErrorCategory, ImprovementPoint, Comment, ImportJob, AlertRule,
        ReferenceDataset, Erasure,
        AlertEvent, Membership,
    ):  # fmt: skip
        rows.append(
            django_serializers.serialize(
                "json", model.objects.filter(project=project).order_by("pk")
            )
        )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def attempts(world_b, slug_a):
    """(path, whether any success is a breach). B's slug with B's ids, and A's own slug with
    B's ids (the classic IDOR). A's slug on a route without ids is A's own page: it may
    answer, but must not show anything of B."""
    project_b, ids_b = world_b
    for route, _ in routes():
        yield fill(route, {"slug": project_b.slug, **ids_b}), True
        yield fill(route, {"slug": slug_a, **ids_b}), route.count("<") > 1


def judge(response) -> tuple[bool, bool]:
    success = response.status_code < 400 and not (
        response.status_code in (301, 302) and "/accounts/login/" in response.get("Location", "")
    )
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return success, SECRET.encode() in body


def test_a_member_of_project_a_reaches_nothing_of_project_b(client, world_b, figures):
    project_a = ProjectFactory()
    login(client, project_a, "admin")
    before = snapshot(world_b[0])
    tried, successes, leaks = 0, [], []
    for path, targets_b in attempts(world_b, project_a.slug):
        for method in METHODS:
            response = getattr(client, method)(path, {"project": project_a.id})
            tried += 1
            success, leaked = judge(response)
            if success and targets_b:
                successes.append(f"{method.upper()} {path} -> {response.status_code}")
            if leaked:
                leaks.append(f"{method.upper()} {path}")
    figures.update(
        page_attempts=tried, page_successes=len(successes), page_leaks=len(leaks),
        project_b_rows_changed=int(snapshot(world_b[0]) != before),
    )  # fmt: skip
    assert tried > 100
    assert successes == [] and leaks == []
    assert figures["project_b_rows_changed"] == 0


def test_a_key_of_project_a_reaches_nothing_of_project_b(world_b, figures):
    project_a = ProjectFactory()
    _, key = api_key_create(project=project_a, scopes=ApiKey.Scope.values)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    project_b, ids_b = world_b
    before = snapshot(project_b)
    tried, successes, leaks = 0, [], []
    for path, targets_b in attempts(world_b, project_a.slug):
        if not path.startswith("/api/"):
            continue
        for method in METHODS:
            # Filters on related fields name B's objects too.
            query = f"?category={ids_b['category_id']}&project={project_b.id}"
            response = getattr(api, method)(path + query, {"predictions": [], "feedback": []},
                                            format="json")  # fmt: skip
            tried += 1
            success, leaked = judge(response)
            if success and targets_b:
                successes.append(f"{method.upper()} {path} -> {response.status_code}")
            if leaked:
                leaks.append(f"{method.upper()} {path}")
    figures.update(
        api_attempts=tried, api_successes=len(successes), api_leaks=len(leaks),
        project_b_rows_changed=int(snapshot(project_b) != before),
    )  # fmt: skip
    assert tried > 40
    assert successes == [] and leaks == []
    assert figures["project_b_rows_changed"] == 0


def test_the_sweep_does_see_project_b_when_access_is_allowed(client, world_b):
    """The control: B's own admin gets answers and B's text, so 0 above means refused."""
    project_b, ids_b = world_b
    client.force_login(Membership.objects.get(project=project_b, role="admin").user)
    answered, revealing = 0, 0
    for route, _ in routes():
        if route.startswith("api/"):
            continue
        success, leaked = judge(client.get(fill(route, {"slug": project_b.slug, **ids_b})))
        answered += success
        revealing += leaked
    assert answered >= 15 and revealing >= 8
