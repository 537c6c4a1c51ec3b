from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from feedback.services import project_create


def read_labels_file(path: Path) -> tuple[list[str], dict[str, str]]:
    """One label per line, optionally followed by a tab and its human-readable name."""
    labels, names = [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, display = line.partition("\t")
        labels.append(label.strip())
        if display.strip():
            names[label.strip()] = display.strip()
    return labels, names


class Command(BaseCommand):
    help = "Create a project (one served model product)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--labels-file",
            type=Path,
            help="The label set: one label per line, optionally 'label<TAB>Display name'.",
        )

    def handle(self, *args, slug, name, labels_file, **options):
        labels, names = read_labels_file(labels_file) if labels_file else ([], {})
        try:
            project = project_create(slug=slug, name=name, labels=labels, label_names=names)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from exc
        self.stdout.write(f"Created project {project.slug} with {len(labels)} labels.")
