"""Serializers that describe the public API in the OpenAPI schema (docs/api.md).

Ingest validates items with the fast functions in `validation.py`; these serializers are the
documented contract and the output of the read endpoints.
"""

from rest_framework import serializers


class PredictionItemSerializer(serializers.Serializer):
    request_id = serializers.CharField(max_length=200)
    model_version = serializers.CharField(max_length=100)
    input_text = serializers.CharField(required=False, help_text="One of input_text/input_data.")
    input_data = serializers.DictField(required=False)
    predicted_label = serializers.CharField(max_length=200)
    scores = serializers.DictField(child=serializers.FloatField(), required=False)
    confidence = serializers.FloatField(min_value=0, max_value=1, required=False)
    latency_ms = serializers.FloatField(min_value=0, required=False)
    served_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    metadata = serializers.DictField(required=False)
    customer_ref = serializers.CharField(required=False, help_text="Stored only as a keyed hash.")


class PredictionBatchSerializer(serializers.Serializer):
    predictions = PredictionItemSerializer(many=True)


class FeedbackItemSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["complaint", "correction", "rating"])
    request_id = serializers.CharField(required=False, help_text="Required for correction/rating.")
    text = serializers.CharField(required=False, max_length=5000)
    corrected_label = serializers.CharField(required=False, max_length=200)
    rating = serializers.ChoiceField(choices=[-1, 1], required=False)
    external_id = serializers.CharField(required=False, max_length=200)
    source = serializers.CharField(required=False, max_length=30, help_text="Default: api.")
    customer_ref = serializers.CharField(required=False)
    created_at = serializers.DateTimeField(required=False, help_text="Default: now.")


class FeedbackBatchSerializer(serializers.Serializer):
    feedback = FeedbackItemSerializer(many=True)


class RejectedItemSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    request_id = serializers.CharField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class IngestResponseSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = RejectedItemSerializer(many=True)
    feedback_links = serializers.DictField(
        child=serializers.URLField(), required=False, help_text="With ?feedback_links=1."
    )


class FeedbackOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    corrected_label = serializers.CharField()
    rating = serializers.IntegerField(allow_null=True)
    source = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    repeat_count = serializers.IntegerField(
        help_text="How often the same customer said this within the dedup window."
    )
    superseded_at = serializers.DateTimeField(
        allow_null=True, help_text="Set when the customer replaced this answer with another."
    )


class PredictionOutSerializer(serializers.Serializer):
    request_id = serializers.CharField()
    model_version = serializers.CharField(source="model_version.version")
    input_text = serializers.CharField()
    input_data = serializers.JSONField(allow_null=True)
    predicted_label = serializers.CharField()
    scores = serializers.JSONField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)
    served_at = serializers.DateTimeField()
    metadata = serializers.JSONField()
    feedback = FeedbackOutSerializer(many=True)


class FeedbackLinkSerializer(serializers.Serializer):
    url = serializers.URLField()
    expires_at = serializers.DateTimeField()


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The CSV export, with a header row.")
    text_column = serializers.CharField(
        required=False, help_text="Column with the complaint text. Default: guessed."
    )
    created_at_column = serializers.CharField(
        required=False, help_text="Column with the date and time. Default: guessed."
    )
    request_id_column = serializers.CharField(required=False)
    customer_ref_column = serializers.CharField(required=False)
    external_id_column = serializers.CharField(
        required=False,
        help_text="Ticket id: the idempotency key. Without it, a key derived from the row.",
    )
    encoding = serializers.ChoiceField(choices=["utf-8", "cp949"], required=False)
    delimiter = serializers.ChoiceField(choices=[",", ";", "\t", "|"], required=False)
    timezone = serializers.CharField(
        required=False, help_text="IANA name for times without an offset. Default: UTC."
    )


class ImportProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["draft", "queued", "running", "succeeded", "failed"])
    file_name = serializers.CharField()
    size_bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    encoding = serializers.CharField()
    timezone = serializers.CharField(source="time_zone")
    header = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.FloatField(help_text="Share of the file read, 0..1.")
    rows_read = serializers.IntegerField()
    rows_accepted = serializers.IntegerField(help_text="New complaints stored.")
    rows_repeated = serializers.IntegerField(
        help_text="Rows counted as repeats of a complaint of the same customer."
    )
    rows_duplicate = serializers.IntegerField(help_text="Rows stored by an earlier import.")
    rows_rejected = serializers.IntegerField()
    report_lines = serializers.IntegerField()
    problems_sample = ImportProblemSerializer(many=True)
    error = serializers.CharField()
