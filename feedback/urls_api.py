from django.urls import path

from . import api

# request_id may contain "/" (path converter), so the longer route comes first.
urlpatterns = [
    path("projects/<slug:slug>/predictions", api.PredictionBatchApi.as_view()),
    path(
        "projects/<slug:slug>/predictions/<path:request_id>/feedback-link",
        api.FeedbackLinkApi.as_view(),
    ),
    path("projects/<slug:slug>/predictions/<path:request_id>", api.PredictionDetailApi.as_view()),
    path("projects/<slug:slug>/feedback", api.FeedbackBatchApi.as_view()),
]
