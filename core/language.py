"""The language of the team's pages: the member's own setting, else the browser's (Django's
LocaleMiddleware, which runs first, has already chosen from the cookie and Accept-Language).
The switch in the header saves the setting and the cookie, so the login page follows too."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .models import UserPreference

LANGUAGE_CODES = {code for code, _ in settings.LANGUAGES}


def preferred_language(user) -> str:
    if not user.is_authenticated:
        return ""
    preference = UserPreference.objects.filter(user=user).values_list("language", flat=True)
    return next(iter(preference), "")


def languages_of(user_ids) -> dict[int, str]:
    """Each user's language for mail (no browser to ask): their setting, else the site's."""
    user_ids = list(user_ids)
    chosen = dict(
        UserPreference.objects.filter(user_id__in=user_ids)
        .exclude(language="")
        .values_list("user_id", "language")
    )
    return {user_id: chosen.get(user_id, settings.LANGUAGE_CODE) for user_id in user_ids}


class UserLanguageMiddleware:
    """After AuthenticationMiddleware: a member's saved language wins over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = preferred_language(request.user) if hasattr(request, "user") else ""
        if language and not request.path.startswith("/api/"):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


@require_POST
def language_set(request):
    """Save the chosen language for the member (and in the cookie), then go back."""
    language = request.POST.get("language", "")
    if language not in LANGUAGE_CODES:
        language = ""
    if request.user.is_authenticated:
        UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
    back = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
            samesite="Lax", secure=request.is_secure(),
        )  # fmt: skip
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
