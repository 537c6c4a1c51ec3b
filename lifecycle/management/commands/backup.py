from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lifecycle.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write a consistent backup of the database and the media folder (exports, import "
        "files, reference keys) with a manifest, into a new folder under --to."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", default="backups", help="The folder to write it under")

    def handle(self, *args, to, **options):
        try:
            folder = backup_create(destination=Path(to))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(folder))
