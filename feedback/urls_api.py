from django.urls import path

from . import api, api_imports, api_labels

# request_id may contain "/" (path converter), so the longer route comes first.
urlpatterns = [
    path("projects/<slug:slug>/predictions", api.PredictionBatchApi.as_view()),
    path(
        "projects/<slug:slug>/predictions/<path:request_id>/feedback-link",
        api.FeedbackLinkApi.as_view(),
    ),
    path("projects/<slug:slug>/predictions/<path:request_id>", api.PredictionDetailApi.as_view()),
    path("projects/<slug:slug>/feedback", api.FeedbackBatchApi.as_view()),
    path("projects/<slug:slug>/labels", api_labels.LabelNamesApi.as_view()),
]
urlpatterns += [
    path("projects/<slug:slug>/imports", api_imports.ImportListApi.as_view()),
    path("projects/<slug:slug>/imports/<int:job_id>", api_imports.ImportDetailApi.as_view()),
    path("projects/<slug:slug>/imports/<int:job_id>/report", api_imports.ImportReportApi.as_view()),
]
