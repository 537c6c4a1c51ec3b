from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from lifecycle.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup folder (from `backup`) into the configured database and media "
        "folder, which must both be empty; checks the row counts against its manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="A folder written by `manage.py backup`")

    def handle(self, *args, folder, **options):
        try:
            counts = backup_restore(folder=Path(folder))
        except BackupError as error:
            raise CommandError(str(error)) from error
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count}")
