"""Team pages of CSV imports, under /p/<slug>/imports/ (reviewers)."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core import files
from core.access import project_view
from core.uploads import TOO_BIG, bounded_uploads

from . import csvparse, imports
from .forms_imports import COMMON_TIMEZONES, ImportMappingForm, ImportUploadForm
from .models import ImportJob
from .selectors import import_job_get, import_jobs_recent

REVIEWER = "reviewer"


def _job_or_404(request, job_id: int) -> ImportJob:
    job = import_job_get(project=request.project, job_id=job_id)
    if job is None:
        raise Http404("No such import in this project.")
    return job


def _add_errors(form, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


@csrf_exempt  # checked by csrf_protect below, once the upload handler is in place
def import_list(request, slug):
    handler = bounded_uploads(request)
    return _import_list(request, slug, handler=handler)


@csrf_protect
@project_view(role=REVIEWER)
def _import_list(request, handler):
    project = request.project
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if handler.exceeded:
            form = ImportUploadForm(request.POST)
            form.is_valid()
            form.add_error("file", gettext(TOO_BIG).format(limit=handler.limit))
        elif form.is_valid():
            try:
                job = imports.import_job_upload(
                    project=project,
                    upload=form.cleaned_data["file"],
                    encoding=form.cleaned_data["encoding"],
                    delimiter=form.cleaned_data["delimiter"],
                    created_by=request.user,
                )
            except imports.ImportInvalid as invalid:
                _add_errors(form, invalid.errors)
            else:
                return redirect("import-mapping", slug=project.slug, job_id=job.id)
    context = {"section": "imports", "form": form, "jobs": import_jobs_recent(project=project)}
    return render(request, "feedback/imports.html", context, status=400 if form.errors else 200)


@project_view(role=REVIEWER)
def import_mapping(request, job_id: int):
    job = _job_or_404(request, job_id)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("import-detail", slug=request.project.slug, job_id=job.id)
    initial = {**job.mapping, "timezone": job.time_zone}
    form = ImportMappingForm(request.POST or None, header=job.header, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_job_start(
                job=job, mapping=form.mapping(), tz=form.cleaned_data["timezone"].strip()
            )
        except imports.ImportInvalid as invalid:
            _add_errors(form, invalid.errors)
        else:
            return redirect("import-detail", slug=request.project.slug, job_id=job.id)
    context = {"section": "imports", "job": job, "form": form, "timezones": COMMON_TIMEZONES}
    status = 400 if form.errors else 200
    return render(request, "feedback/import_mapping.html", context, status=status)


@project_view(role=REVIEWER)
def import_detail(request, job_id: int):
    job = _job_or_404(request, job_id)
    template = (
        "feedback/_import_progress.html"
        if request.headers.get("HX-Request")
        else "feedback/import_detail.html"
    )
    # Stored in English by the worker; shown in the reader's language (not saved).
    job.problems_sample = [
        {**problem, "message": csvparse.message_translated(problem["message"])}
        for problem in job.problems_sample
    ]
    return render(request, template, {"section": "imports", "job": job})


@project_view(role=REVIEWER)
def import_report(request, job_id: int):
    job = _job_or_404(request, job_id)
    if not files.exists(job.report.name):
        raise Http404("This import has no report yet.")
    return files.download_response(
        job.report.name,
        filename=f"import-{job.id}-rejected-rows.csv",
        content_type="text/csv; charset=utf-8",
        redirect=False,  # small: never worth a signed URL
    )
