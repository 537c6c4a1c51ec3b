from django.core.management.base import BaseCommand, CommandError

from dashboards.services.demo import DEMO_RULE_NAMES, demo_alerts_setup
from feedback.models import Project


class Command(BaseCommand):
    help = (
        "Add the demo's alert rule (correction-rate spike) to a project loaded by load_demo and "
        "evaluate it over the replay's history, so the alerts page shows its incident. "
        "Builds the project's rollups first. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", default="banking77")
        parser.add_argument(
            "--language", choices=sorted(DEMO_RULE_NAMES), default="en",
            help="The language of the rule's name, as the demo's (load_demo --language).",
        )  # fmt: skip

    def handle(self, *args, slug, language, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project with slug {slug!r}: run load_demo first.")
        result = demo_alerts_setup(project=project, language=language)
        rule = result["rule"]
        if not result["created"]:
            self.stdout.write(f"Alert rule “{rule.name}” already exists; left as it is.")
            return
        happened = ", ".join(f"{what} {at:%Y-%m-%d %H:%M}" for at, what in result["transitions"])
        self.stdout.write(
            f"Alert rule “{rule.name}” ({rule.describe()}) evaluated over the history: "
            f"{happened or 'never fired'}."
        )
