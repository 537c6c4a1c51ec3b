from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from feedback.members import member_add
from feedback.models import Membership, Project


class Command(BaseCommand):
    help = (
        "Add a user to a project's team, creating the account when the username is new, and "
        "print a one-time link to set its password."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Membership.Role.values, default="viewer")
        parser.add_argument("--team", choices=Membership.Team.values, default="")
        parser.add_argument("--email", default="")

    def handle(self, *args, project, username, role, team, email, **options):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project with slug {project!r}.")
        try:
            added = member_add(
                project=found, actor=None, username=username, email=email, role=role, team=team
            )
        except ValidationError as invalid:
            raise CommandError(" ".join(invalid.messages)) from invalid
        user = added.membership.user.get_username()
        created = " (new account)" if added.user_created else ""
        self.stdout.write(f"{user}{created} is now {role} of {found.slug}.")
        if added.set_password_url:
            self.stdout.write(f"Set-password link (one use): {added.set_password_url}")
