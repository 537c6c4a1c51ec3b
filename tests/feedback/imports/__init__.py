"""CSV imports: running jobs, uploading and mapping, the team pages and the API (the worker
itself runs in tests/integration)."""
