"""Team pages of dataset exports, under /p/<slug>/exports/.

Viewers see the list and an export's page; creating and downloading need the reviewer role
(downloads carry customer text out of the app, and both are audited).
"""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core.access import project_view
from core.uploads import TOO_BIG, bounded_uploads

from .api_exports import export_file_response
from .forms_exports import ExportForm, ReferenceUploadForm
from .selectors_exports import (
    export_get,
    exports_for_project,
    reference_get,
    references_for_project,
)
from .services.exports import ExportInvalid, export_downloaded, export_file_name, export_request
from .services.references import ReferenceInvalid, reference_delete, reference_upload

REVIEWER = "reviewer"
ADMIN = "admin"
EXPORTS_PER_PAGE = 25


def _prefill(request) -> dict:
    """Initial values from the query string: the "Export corrections" buttons of a category
    and of an improvement point link here with their ids."""
    initial = {}
    for name in ("categories", "improvement_points"):
        ids = [int(v) for v in request.GET.getlist(name) if v.isdigit() and len(v) < 12]
        if ids:
            initial[name] = ids
    return initial


def _show_errors(form: ExportForm, invalid: ExportInvalid) -> None:
    for name, errors in invalid.errors.items():
        field = name.rpartition(".")[2]
        form.add_error(field if field in form.fields else None, errors)


@project_view()
def export_list(request):
    """The project's exports, newest first, and the form to request a new one."""
    can_export = request.membership.has_role(REVIEWER)
    form = ExportForm(initial=_prefill(request), project=request.project)
    if request.method == "POST":
        if not can_export:
            raise PermissionDenied("Your role in this project does not allow exports.")
        form = ExportForm(request.POST, project=request.project)
        if form.is_valid():
            try:
                export = export_request(
                    project=request.project, actor=request.user, **form.to_request()
                )
            except ExportInvalid as invalid:
                _show_errors(form, invalid)
            else:
                messages.success(
                    request, _("Export %(label)s is queued.") % {"label": export.label}
                )
                return redirect("export-detail", slug=request.project.slug, export_id=export.id)
    return _render_list(request, form=form, can_export=can_export)


def _render_list(request, *, form, can_export, upload_form=None, status=None):
    page = Paginator(
        exports_for_project(project=request.project).order_by("-number"), EXPORTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "form": form,
        "upload_form": upload_form or ReferenceUploadForm(),
        "references": references_for_project(project=request.project),
        "can_export": can_export,
        "can_delete_references": request.membership.has_role(ADMIN),
        "prefilled": bool(_prefill(request)),
        "section": "exports",
    }
    return render(request, "triage/export_list.html", context, status=status)


@csrf_exempt  # checked by csrf_protect below, once the upload handler is in place
def reference_create(request, slug):
    """Upload a reference dataset (the team's training set). POST only; the upload is
    spooled to disk and stored, and a worker reads it (the request does not wait for it)."""
    handler = bounded_uploads(request)
    return _reference_create(request, slug, handler=handler)


@csrf_protect
@project_view(role=REVIEWER)
def _reference_create(request, handler):
    if request.method != "POST":
        return redirect("export-list", slug=request.project.slug)
    form = ReferenceUploadForm(request.POST, request.FILES)
    if handler.exceeded:
        form = ReferenceUploadForm(request.POST)
        form.is_valid()
        form.add_error("file", _(TOO_BIG).format(limit=handler.limit))
    elif form.is_valid():
        try:
            dataset = reference_upload(
                project=request.project,
                upload=form.cleaned_data["file"],
                text_column=form.cleaned_data["text_column"],
                actor=request.user,
            )
        except ReferenceInvalid as invalid:
            for name, errors in invalid.errors.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(
                request,
                _(
                    "Reference dataset %(name)s is uploaded; it is being read in the "
                    "background: its progress is below."
                )
                % {"name": dataset.name},
            )
            return redirect(reverse("export-list", args=[request.project.slug]) + "#references")
    export_form = ExportForm(project=request.project)
    return _render_list(request, form=export_form, can_export=True, upload_form=form, status=400)


@project_view()
def reference_detail(request, reference_id: int):
    """A reference dataset's row of the Exports page, which HTMX polls while it is read."""
    dataset = reference_get(project=request.project, reference_id=reference_id)
    if dataset is None:
        raise Http404("No such reference dataset.")
    if not request.headers.get("HX-Request"):
        return redirect(reverse("export-list", args=[request.project.slug]) + "#references")
    context = {
        "dataset": dataset,
        "can_delete_references": request.membership.has_role(ADMIN),
    }
    return render(request, "triage/_reference_row.html", context)


@project_view(role=ADMIN)
def reference_remove(request, reference_id: int):
    """Delete a reference dataset (project admins; POST only)."""
    dataset = reference_get(project=request.project, reference_id=reference_id)
    if dataset is None:
        raise Http404("No such reference dataset.")
    if request.method != "POST":
        return redirect(reverse("export-list", args=[request.project.slug]) + "#references")
    reference_delete(dataset=dataset, actor=request.user)
    messages.success(request, _("Reference dataset %(name)s deleted.") % {"name": dataset.name})
    return redirect(reverse("export-list", args=[request.project.slug]) + "#references")


@project_view()
def export_detail(request, export_id: int):
    """An export's status and manifest; while it builds, HTMX polls this view for the status
    panel alone (HX-Request) until it is done."""
    export = export_get(project=request.project, export_id=export_id)
    if export is None:
        raise Http404("No such export.")
    context = {
        "export": export,
        "manifest_json": json.dumps(export.manifest, indent=2, ensure_ascii=False),
        "can_download": request.membership.has_role(REVIEWER),
        "section": "exports",
    }
    if request.headers.get("HX-Request"):
        return render(request, "triage/_export_status.html", context)
    return render(request, "triage/export_detail.html", context)


@project_view(role=REVIEWER)
def export_download(request, export_id: int):
    """The export's file, by id only: the path on disk never comes from the request."""
    export = export_get(project=request.project, export_id=export_id)
    name = export_file_name(export) if export else None
    if name is None:
        raise Http404("This export has no file (yet).")
    export_downloaded(export=export, actor=request.user)
    return export_file_response(export, name)
