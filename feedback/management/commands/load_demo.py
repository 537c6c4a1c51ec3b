from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from feedback.demo import demo_load
from feedback.models import Membership, Project
from feedback.replay import LANGUAGES


class Command(BaseCommand):
    help = (
        "Load the Banking77 replay (feedback/demo_data/banking77, CC-BY-4.0) as a project with two model "
        "versions, six weeks of predictions and customer feedback. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", type=Path, help="Folder with train.csv/test.csv")
        parser.add_argument(
            "--project", help="Project slug (default: banking77, or banking77-ko for --language ko)"
        )
        parser.add_argument(
            "--language", choices=LANGUAGES, default="en",
            help="ko: the Korean replay (Korean queries and complaints for 48 intents)",
        )  # fmt: skip
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--repeat", type=int, default=1, help="Serve each query N times")
        parser.add_argument("--end", help="Last served day (YYYY-MM-DD); default today")
        parser.add_argument("--user", default="demo", help="Demo login to create ('' for none)")
        parser.add_argument("--password", default="demo")

    def handle(
        self, *args, data_dir, project, language, seed, repeat, end, user, password, **options
    ):
        project = project or ("banking77-ko" if language == "ko" else "banking77")
        if data_dir is not None and not (data_dir / "test.csv").exists():
            raise CommandError(f"{data_dir} has no test.csv")
        end_at = datetime.fromisoformat(end + "T00:00:00+00:00") if end else None
        summary = demo_load(
            data_dir=data_dir, slug=project, seed=seed, repeat=repeat, end=end_at, language=language
        )
        self.stdout.write(
            f"Project {summary['project']}: {summary['predictions']} predictions "
            f"({summary['new_predictions']} new), {summary['feedback']} feedback items "
            f"({summary['new_feedback']} new)."
        )
        if user:
            User = get_user_model()
            account, created = User.objects.get_or_create(
                username=user, defaults={"is_staff": True, "is_superuser": True}
            )
            if created:
                account.set_password(password)
                account.save()
            Membership.objects.get_or_create(
                project=Project.objects.get(slug=project),
                user=account,
                defaults={"role": Membership.Role.ADMIN, "team": Membership.Team.MODEL},
            )
            self.stdout.write(f"Demo login: {user} / {password if created else '(unchanged)'}")
