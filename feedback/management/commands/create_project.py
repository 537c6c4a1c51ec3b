from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from feedback.services import project_create


def read_labels_file(path: Path) -> tuple[list[str], dict[str, str], dict[str, dict]]:
    """One label per line, optionally followed by a tab and its human-readable name, then by
    more tabs, each with the name in another language: `card_arrival<TAB>Card arrival<TAB>ko:카드
    배송`. Returns the labels, their names and their translations (language -> label -> name)."""
    labels, names, translations = [], {}, {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, display, *others = [part.strip() for part in line.split("\t")] + [""]
        labels.append(label)
        if display:
            names[label] = display
        for other in filter(None, others):
            language, colon, name = (part.strip() for part in other.partition(":"))
            if not colon or not language.isalpha() or not name:
                raise CommandError(f"{path} line {number}: write language:name, e.g. ko:카드 배송")
            translations.setdefault(language.lower(), {})[label] = name
    return labels, names, translations


class Command(BaseCommand):
    help = "Create a project (one served model product)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--labels-file",
            type=Path,
            help="The label set: one label per line, optionally 'label<TAB>Display name', then "
            "'<TAB>ko:이름' for its name in another language.",
        )

    def handle(self, *args, slug, name, labels_file, **options):
        labels, names, translations = read_labels_file(labels_file) if labels_file else ([], {}, {})
        try:
            project = project_create(
                slug=slug, name=name, labels=labels, label_names=names,
                label_translations=translations,
            )  # fmt: skip
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from exc
        self.stdout.write(f"Created project {project.slug} with {len(labels)} labels.")
