from django.urls import path

from . import api

urlpatterns = [
    path("projects/<slug:slug>/erasures", api.ErasureListApi.as_view()),
    path("projects/<slug:slug>/erasures/<int:erasure_id>", api.ErasureDetailApi.as_view()),
]
