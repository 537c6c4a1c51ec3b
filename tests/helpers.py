"""Helpers shared by the test modules (factories are in tests/factories.py)."""

from tests.factories import MembershipFactory, UserFactory


def member(project, role, **user_fields):
    """A new user with `role` in `project`; `user_fields` go to UserFactory."""
    return MembershipFactory(project=project, role=role, user=UserFactory(**user_fields)).user


def login(client, project, role, **user_fields):
    """Log `client` in as a new member of `project` with `role`; returns the user."""
    user = member(project, role, **user_fields)
    client.force_login(user)
    return user
