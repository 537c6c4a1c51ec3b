from django.urls import path

from . import api

urlpatterns = [
    path("projects/<slug:slug>/metrics", api.MetricsApi.as_view()),
    path("projects/<slug:slug>/segments", api.SegmentsApi.as_view()),
]
