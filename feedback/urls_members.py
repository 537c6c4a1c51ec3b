"""The Members page, under /p/<slug>/members/ (see config/urls.py)."""

from django.urls import path

from . import views_members

urlpatterns = [
    path("", views_members.member_list, name="member-list"),
    path("<int:membership_id>/role", views_members.member_change, name="member-change"),
    path("<int:membership_id>/remove", views_members.member_remove, name="member-remove"),
]
