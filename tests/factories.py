import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from feedback.models import Feedback, Membership, ModelVersion, Prediction, Project
from triage.models import ErrorCategory

LABELS = ["card_arrival", "card_not_working", "exchange_rate", "lost_or_stolen_card"]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    slug = factory.Sequence(lambda n: f"project-{n}")
    name = factory.LazyAttribute(lambda p: p.slug.replace("-", " ").title())
    labels = factory.LazyFunction(lambda: list(LABELS))


class MembershipFactory(factory.django.DjangoModelFactory):
    """MembershipFactory(project=p, role="reviewer").user is a member with that role."""

    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.VIEWER
    team = ""


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion
        django_get_or_create = ["project", "version"]

    project = factory.SubFactory(ProjectFactory)
    version = "v1"


class PredictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prediction

    project = factory.SubFactory(ProjectFactory)
    model_version = factory.LazyAttribute(
        lambda p: ModelVersionFactory(project=p.project, version="v1")
    )
    request_id = factory.Sequence(lambda n: f"req-{n}")
    input_text = "Where is my new card?"
    predicted_label = "card_arrival"
    confidence = 0.8
    scores = factory.LazyFunction(lambda: {"card_arrival": 0.8, "card_not_working": 0.1})
    served_at = factory.LazyFunction(timezone.now)


class FeedbackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feedback

    project = factory.LazyAttribute(lambda f: f.prediction.project if f.prediction else None)
    prediction = factory.SubFactory(PredictionFactory)
    # Copies ingest makes of the linked prediction (see Feedback.predicted_label).
    predicted_label = factory.LazyAttribute(
        lambda f: f.prediction.predicted_label if f.prediction else ""
    )
    model_version = factory.LazyAttribute(
        lambda f: f.prediction.model_version if f.prediction else None
    )
    kind = "correction"
    corrected_label = "card_not_working"


class ErrorCategoryFactory(factory.django.DjangoModelFactory):
    """A category as a run leaves one (titled, both sides of its labels), without items."""

    class Meta:
        model = ErrorCategory

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"category {n}")
    labels = factory.LazyFunction(lambda: {"predicted": {}, "corrected": {}})
