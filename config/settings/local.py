"""`make run` / `make serve` on a workstation: debug pages, the embedded defaults."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
