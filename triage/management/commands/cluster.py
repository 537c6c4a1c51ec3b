import uuid

from django.core.management.base import BaseCommand, CommandError

from feedback.models import Project
from triage.models import ClusteringRun
from triage.services.clustering import clustering_run_execute, clustering_run_request


class Command(BaseCommand):
    help = "Queue a clustering run for a project (the worker does it), or do it now in-process."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--now", action="store_true", help="Run here and wait for the result")

    def handle(self, *args, slug, now, **options):
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project with slug {slug!r}.")
        run, created = clustering_run_request(project=project, trigger="command")
        if not created:
            self.stdout.write(f"Run {run.id} is already {run.status}.")
        if not now:
            self.stdout.write(f"Run {run.id} queued; the worker will pick it up.")
            return
        clustering_run_execute(run_id=run.id, task_id=f"command-{uuid.uuid4()}")
        run = ClusteringRun.objects.defer("model_state").get(id=run.id)
        if run.status != ClusteringRun.Status.SUCCEEDED:
            raise CommandError(f"Run {run.id} {run.status}: {run.error}")
        self.stdout.write(
            f"Run {run.id}: {run.n_items} items into {run.n_categories} categories "
            f"({run.n_noise} unsorted) with {run.representation} in {sum(run.timings.values()):.1f}s."
        )
