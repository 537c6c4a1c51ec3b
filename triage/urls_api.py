from django.urls import path

from . import api, api_exports, api_references, api_review_queue

urlpatterns = [
    path("projects/<slug:slug>/clustering-runs", api.ClusteringRunsApi.as_view()),
    path("projects/<slug:slug>/clustering-runs/<int:run_id>", api.ClusteringRunDetailApi.as_view()),
    path("projects/<slug:slug>/categories", api.CategoriesApi.as_view()),
    path("projects/<slug:slug>/review-queue", api_review_queue.ReviewQueueApi.as_view()),
    path("projects/<slug:slug>/review-labels", api_review_queue.ReviewLabelsApi.as_view()),
    path("projects/<slug:slug>/categories/<int:category_id>/items", api.CategoryItemsApi.as_view()),
    path("projects/<slug:slug>/exports", api_exports.ExportListApi.as_view()),
    path("projects/<slug:slug>/exports/<int:export_id>", api_exports.ExportDetailApi.as_view()),
    path(
        "projects/<slug:slug>/exports/<int:export_id>/download",
        api_exports.ExportDownloadApi.as_view(),
    ),
    path("projects/<slug:slug>/references", api_references.ReferenceListApi.as_view()),
    path(
        "projects/<slug:slug>/references/<int:reference_id>",
        api_references.ReferenceDetailApi.as_view(),
    ),
]
