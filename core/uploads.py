"""Upload handling for CSV imports: spooled to a temporary file, never to memory, and cut off
at VOC_IMPORT_MAX_BYTES instead of filling the disk."""

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_noop as _

# Room for the multipart framing and the form's other fields around the file itself.
FRAMING_SLACK = 64 * 1024
TOO_BIG = _("The file is larger than {limit:,} bytes.")


class BoundedUploadHandler(TemporaryFileUploadHandler):
    """Set as a request's only upload handler before its body is read; afterwards
    `exceeded` says whether the upload was refused for its size."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.VOC_IMPORT_MAX_BYTES
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + FRAMING_SLACK:
            self.exceeded = True  # declared too big: do not read the body at all
            return QueryDict(encoding=encoding), MultiValueDict()
        return super().handle_raw_input(input_data, META, content_length, boundary, encoding)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


def bounded_uploads(request) -> BoundedUploadHandler:
    """Install the handler on a Django request whose body has not been read yet."""
    handler = BoundedUploadHandler(request)
    request.upload_handlers = [handler]
    return handler
