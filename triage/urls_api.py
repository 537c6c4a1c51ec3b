from django.urls import path

from . import api

urlpatterns = [
    path("projects/<slug:slug>/clustering-runs", api.ClusteringRunsApi.as_view()),
    path("projects/<slug:slug>/clustering-runs/<int:run_id>", api.ClusteringRunDetailApi.as_view()),
    path("projects/<slug:slug>/categories", api.CategoriesApi.as_view()),
    path("projects/<slug:slug>/categories/<int:category_id>/items", api.CategoryItemsApi.as_view()),
]
