from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from feedback.models import Project
from feedback.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a project and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument(
            "--scopes", default="ingest", help="Comma-separated: ingest,read,export,privacy,review"
        )
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, scopes, name, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project with slug {slug!r}.")
        try:
            _, full_key = api_key_create(
                project=project,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                name=name,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(full_key)
