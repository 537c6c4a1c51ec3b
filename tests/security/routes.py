"""Every project-scoped route of the URL configuration, and filling its parameters."""

from django.urls import URLPattern, URLResolver, get_resolver

SKIP = {"admin/", "accounts/login/", "accounts/logout/", "api/schema/", "api/docs/", "healthz"}


def routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    for route, pattern in walk(get_resolver().url_patterns):
        if "<slug:slug>" in route and not any(route.startswith(skip) for skip in SKIP):
            yield route, pattern


def fill(route: str, values: dict) -> str:
    path = route
    for converter in ("slug", "int", "path", "str"):
        for name, value in values.items():
            path = path.replace(f"<{converter}:{name}>", str(value))
    assert "<" not in path, f"no id of project B for a parameter of {route}: add one to world_b"
    return "/" + path
