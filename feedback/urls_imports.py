"""CSV import pages, under /p/<slug>/imports/ (see config/urls.py)."""

from django.urls import path

from . import views_imports

urlpatterns = [
    path("", views_imports.import_list, name="import-list"),
    path("<int:job_id>/", views_imports.import_detail, name="import-detail"),
    path("<int:job_id>/mapping", views_imports.import_mapping, name="import-mapping"),
    path("<int:job_id>/report.csv", views_imports.import_report, name="import-report"),
]
