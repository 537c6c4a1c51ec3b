"""The Privacy page, under /p/<slug>/privacy/ (see config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.erasure_list, name="erasure-list"),
    path("erasures/<int:erasure_id>", views.erasure_detail, name="erasure-detail"),
]
