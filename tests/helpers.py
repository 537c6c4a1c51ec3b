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


def reference_ready(project, data: bytes, name: str = "train.csv", column: str = "text", **kw):
    """A reference dataset uploaded and read (what a worker does after the upload's commit);
    returns it refreshed."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from triage.services.reference_read import reference_read
    from triage.services.references import reference_upload

    dataset = reference_upload(
        project=project, upload=SimpleUploadedFile(name, data), text_column=column, **kw
    )
    reference_read(reference_id=dataset.id)
    dataset.refresh_from_db()
    return dataset
