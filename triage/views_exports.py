"""Team pages of dataset exports, under /p/<slug>/exports/ (reviewers)."""

from django.http import Http404

from feedback.access import project_view

from .api_exports import export_file_response
from .selectors_exports import export_get
from .services.exports import export_downloaded, export_file_path

REVIEWER = "reviewer"


@project_view(role=REVIEWER)
def export_download(request, export_id: int):
    """The export's file, by id only: the path on disk never comes from the request."""
    export = export_get(project=request.project, export_id=export_id)
    path = export_file_path(export) if export else None
    if path is None:
        raise Http404("This export has no file (yet).")
    export_downloaded(export=export, actor=request.user)
    return export_file_response(export, path)
