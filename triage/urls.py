"""Team pages of the triage app, under /p/<slug>/ (see config/urls.py)."""

from django.urls import path

from . import (
    views,
    views_board,
    views_corrections,
    views_exports,
    views_inbox,
    views_review,
    views_review_queue,
)

urlpatterns = [
    path("board/", views_board.board, name="board"),
    path("categories/", views.category_list, name="category-list"),
    path("categories/runs/", views.run_status, name="run-status"),
    path("categories/runs/new", views.run_request, name="run-request"),
    path("categories/<int:category_id>/", views.category_detail, name="category-detail"),
    path("categories/<int:category_id>/rename", views.category_rename, name="category-rename"),
    path("categories/<int:category_id>/merge", views.category_merge, name="category-merge"),
    path(
        "categories/<int:category_id>/items",
        views.category_items_action,
        name="category-items-action",
    ),
    path("categories/<int:category_id>/state", views_board.category_state, name="category-state"),
    path(
        "categories/<int:category_id>/assign", views_board.category_assign, name="category-assign"
    ),
    path(
        "categories/<int:category_id>/comments",
        views_board.category_comment,
        name="category-comment",
    ),
    path("improvements/", views_review.improvement_list, name="improvement-list"),
    path("improvements/new", views_review.improvement_new, name="improvement-new"),
    path(
        "improvements/<int:point_id>/",
        views_review.improvement_detail,
        name="improvement-detail",
    ),
    path(
        "improvements/<int:point_id>/comments",
        views_review.improvement_comment,
        name="improvement-comment",
    ),
    path("reviews/", views_review.review_list, name="review-list"),
    path("reviews/start", views_review.review_start, name="review-start"),
    path("reviews/<int:review_id>/", views_review.review_detail, name="review-detail"),
    path("exports/", views_exports.export_list, name="export-list"),
    path("exports/references", views_exports.reference_create, name="reference-create"),
    path(
        "exports/references/<int:reference_id>",
        views_exports.reference_detail,
        name="reference-detail",
    ),
    path(
        "exports/references/<int:reference_id>/delete",
        views_exports.reference_remove,
        name="reference-delete",
    ),
    path("exports/<int:export_id>/", views_exports.export_detail, name="export-detail"),
    path(
        "exports/<int:export_id>/download",
        views_exports.export_download,
        name="export-download",
    ),
    path("review-queue/", views_review_queue.review_queue, name="review-queue"),
    path("review-queue/label", views_review_queue.review_queue_label, name="review-queue-label"),
    path("review-queue/undo", views_review_queue.review_queue_undo, name="review-queue-undo"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:feedback_id>/", views_inbox.feedback_detail, name="feedback-detail"),
    path("inbox/verdict", views_corrections.correction_verdict, name="correction-verdict"),
]
