"""`make run` / `make serve` on a workstation: the embedded defaults. Django's debug pages
(which list every URL and setting) only with DJANGO_DEBUG=true."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=False)
