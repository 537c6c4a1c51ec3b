"""A customer answers through the feedback link in a real browser; the team reads it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feedback.models import Feedback, Membership
from feedback.services import feedback_link_token
from tests.e2e.conftest import CHROMIUM_ARGS, PHONE, log_in, screenshot  # noqa: F401
from tests.factories import PredictionFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Runs if rendered as HTML: sets a flag, opens a dialog.
PAYLOAD = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script>'
LABEL_NAMES = {"card_not_working": "My card does not work", "card_arrival": "Card delivery"}


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.VOC_FEEDBACK_RATE_PER_ADDRESS = (10_000, 600)
    settings.VOC_FEEDBACK_RATE_PER_TOKEN = (10_000, 3600)


@pytest.fixture
def link(project):
    project.label_names = LABEL_NAMES
    project.save()
    prediction = PredictionFactory(
        project=project,
        request_id="chat-1",
        input_text="My card was declined at the supermarket",
        predicted_label="card_arrival",
    )
    token, _ = feedback_link_token(project=project, prediction_id=prediction.id)
    return prediction, f"/f/{token}"


def no_script_ran(page) -> bool:
    return page.evaluate("window.__pwned === undefined") and not page.dialogs and not page.errors


def test_a_correction_with_a_script_payload_reaches_the_inbox_as_inert_text(page, project, link):
    prediction, url = link

    page.goto(url)
    page.get_by_role("button", name="No").click()
    page.wait_for_url("**sent=down**")
    page.fill("#id_corrected_label", "My card does not work")
    page.fill("#id_text", PAYLOAD)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url("**sent=details**")

    assert page.get_by_text("We received your message").is_visible()
    assert page.locator(".sent .quote").inner_text() == f"“{PAYLOAD}”"
    assert no_script_ran(page)
    stored = Feedback.objects.filter(prediction=prediction, superseded_at__isnull=True)
    assert sorted(stored.values_list("kind", flat=True)) == ["correction", "rating"]

    reviewer = UserFactory()
    Membership.objects.create(project=project, user=reviewer, role="reviewer")
    log_in(page, reviewer)
    page.goto(f"/p/{project.slug}/inbox/")
    row_text = page.locator("table.inbox tbody tr").first.inner_text()

    assert PAYLOAD in row_text and "→ card_not_working" in row_text
    assert page.locator("table.inbox img").count() == 0
    assert no_script_ran(page)

    page.locator("table.inbox tbody tr").first.get_by_role("link").click()
    page.wait_for_url("**/inbox/*/**")

    assert page.locator(".thread blockquote").first.inner_text() == PAYLOAD
    assert "My card was declined at the supermarket" in page.locator(".prediction").inner_text()
    assert no_script_ran(page)
    screenshot(page, "inbox-detail-with-payload")


def test_on_a_korean_phone_the_page_fits_and_speaks_korean(browser, live_server, link):
    _, url = link
    context = browser.new_context(
        viewport=PHONE, locale="ko-KR", base_url=live_server.url, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(url)

        assert page.locator("html").get_attribute("lang") == "ko"
        assert page.locator("h1").inner_text() == "이 답변이 맞았나요?"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        thumb = page.get_by_role("button", name="네").bounding_box()
        assert thumb["height"] >= 44 and thumb["width"] >= 120, "thumb-sized targets"
        screenshot(page, "feedback-page-phone-ko")

        page.get_by_role("button", name="네").click()
        page.wait_for_url("**sent=up**")

        assert "답변이 도움이 되었다니 기쁩니다" in page.locator(".notice").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "feedback-page-phone-ko-sent")
        assert errors == []
    finally:
        context.close()


class _HostPage(BaseHTTPRequestHandler):
    """A product page on another origin that embeds the feedback page."""

    frame_url = ""

    def do_GET(self):  # noqa: N802 - the http.server API
        body = f"""<!doctype html><html><body><h1>Shop</h1>
<iframe id="feedback" src="{self.frame_url}" title="Feedback" style="width:100%;border:0"></iframe>
<script>
window.addEventListener("message", function (event) {{
  if (event.data && event.data.type === "voc-feedback:resize") {{
    document.getElementById("feedback").style.height = event.data.height + "px";
    window.reportedHeight = event.data.height;
  }}
}});
</script></body></html>"""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


def serve_host_page(frame_url: str) -> ThreadingHTTPServer:
    handler = type("Host", (_HostPage,), {"frame_url": frame_url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_an_allowed_site_embeds_the_page_and_a_customer_answers_inside_it(
    page, project, link, live_server
):
    prediction, url = link
    allowed, other = serve_host_page(""), serve_host_page("")
    try:
        frame_url = f"{live_server.url}{url}?embed=1"
        allowed.RequestHandlerClass.frame_url = other.RequestHandlerClass.frame_url = frame_url
        project.frame_ancestors = f"http://127.0.0.1:{allowed.server_port}"
        project.save()

        page.goto(f"http://127.0.0.1:{allowed.server_port}/")
        page.wait_for_function("window.reportedHeight > 200")  # the frame sized itself
        first_height = page.evaluate("window.reportedHeight")
        frame = page.frame_locator("#feedback")
        frame.get_by_role("button", name="Yes").click()
        frame.get_by_text("glad the answer was right").wait_for()

        assert Feedback.objects.get(prediction=prediction).rating == 1
        # The thanks and "what you told us" take the correction form's place: the frame
        # follows the new height.
        page.wait_for_function(f"window.reportedHeight !== {first_height}")
        screenshot(page, "feedback-embedded")

        page.goto(f"http://127.0.0.1:{other.server_port}/")
        page.wait_for_timeout(500)
        inner = page.frames[1]

        assert "Was this right?" not in inner.content(), "another site cannot frame it"
        assert page.evaluate("window.reportedHeight === undefined")
    finally:
        allowed.shutdown()
        other.shutdown()


def test_a_reviewer_imports_a_csv_and_watches_its_progress(page, project, tmp_path, settings):
    from feedback.imports import import_job_run
    from feedback.models import ImportJob

    settings.MEDIA_ROOT = tmp_path
    reviewer = UserFactory()
    Membership.objects.create(project=project, user=reviewer, role="reviewer")
    log_in(page, reviewer)
    export = tmp_path / "tickets.csv"
    export.write_text(
        "Ticket ID,Created,Description\nT-1,2025-01-02 10:00,The card never came\n"
        f"T-2,,no date\nT-3,2025-01-02 11:00,{PAYLOAD}\n"
    )

    page.goto(f"/p/{project.slug}/imports/")
    page.set_input_files("#id_file", str(export))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Start the import").click()
    page.wait_for_url("**/imports/*/")

    assert "Queued" in page.locator("#import-progress").inner_text()
    import_job_run(job_id=ImportJob.objects.get().id)  # what the worker does
    page.locator("#import-progress").get_by_text("Succeeded").wait_for()  # HTMX polling

    text = page.locator("#import-progress").inner_text()
    assert "Created" in text and "Empty: the date and time" in text
    assert page.get_by_role("link", name="Download the report of rejected rows (CSV)").is_visible()
    screenshot(page, "import-finished")
    page.goto(f"/p/{project.slug}/inbox/?source=import")
    assert PAYLOAD in page.locator("table.inbox").inner_text()
    assert no_script_ran(page)
    screenshot(page, "inbox-imported")


def test_after_a_thumbs_up_the_page_offers_no_correction_until_thumbs_down(page, link):
    prediction, url = link

    page.goto(url)
    assert page.locator("form#details").count() == 1
    page.get_by_role("button", name="Yes").click()
    page.wait_for_url("**sent=up**")
    after_up = page.locator("form#details").count()
    page.get_by_role("button", name="No").click()
    page.wait_for_url("**sent=down**")

    assert after_up == 0
    assert page.locator("form#details").is_visible()
    assert no_script_ran(page)
