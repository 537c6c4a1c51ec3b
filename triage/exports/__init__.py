"""Dataset exports, the pure parts: resolving corrections, splitting, writing files.

No ORM and no Celery here: `triage/services/exports.py` loads rows and calls these.
"""
