"""erase_customer --project SLUG --customer-ref REF: erase a customer's data, now."""

from django.core.management.base import BaseCommand, CommandError

from feedback.models import Project
from lifecycle.erasure import ErasureInvalid, erasure_request, erasure_run_now
from lifecycle.models import Erasure


class Command(BaseCommand):
    help = (
        "Erase one customer's data in a project (their texts, inputs, vectors, import rows; "
        "categories and exports recomputed without them) and wait until it is done. Prints "
        "the erasure's id and counts, never the reference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--customer-ref", required=True, help="The customer reference, as ingest got it."
        )

    def handle(self, *args, project, customer_ref, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug {project!r}.")
        try:
            erasure = erasure_request(
                project=found, customer_ref=customer_ref, source=Erasure.Source.COMMAND
            )
        except ErasureInvalid as invalid:
            raise CommandError(str(invalid)) from invalid
        erasure = erasure_run_now(erasure=erasure)
        counts = ", ".join(f"{name}={value}" for name, value in erasure.counts.items())
        if erasure.status != Erasure.Status.SUCCEEDED:
            raise CommandError(f"Erasure {erasure.id} {erasure.status}: {erasure.error}")
        self.stdout.write(f"Erasure {erasure.id} succeeded: {counts}")
