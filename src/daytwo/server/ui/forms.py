"""Forms posted from the UI's pages: read within a size limit, and only from daytwo's own pages.

There is no login yet, so the origin check (`daytwo.server.origin`) is what
keeps another web site from changing data through a visitor's browser: a
cross-site form post needs no CORS preflight. The JSON API makes the same
check in a middleware.

Bodies are parsed by Starlette's form parsers (python-multipart), after the
whole body has been read within the server's request size limit.
"""

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from daytwo.server.body import read_body
from daytwo.server.errors import ApiError
from daytwo.server.origin import is_cross_site
from daytwo.server.ui.pages.errors import PageError

# Our forms have a few fields, a list of picked traces at most, and one file.
MAX_FIELDS = 1_000
MAX_FILES = 1


@dataclass(frozen=True, slots=True)
class Upload:
    """A file sent with a form."""

    filename: str
    content: bytes


class Form:
    """The fields and files of a submitted form; a field may repeat."""

    def __init__(self, fields: list[tuple[str, str]], files: dict[str, Upload]) -> None:
        self.fields = fields
        self.files = files

    def get(self, name: str) -> str:
        """Return the last value of field ``name``, trimmed; empty when it is missing."""
        found = [value for key, value in self.fields if key == name]
        return found[-1].strip() if found else ""

    def all(self, name: str) -> list[str]:
        """Return every non-empty value of field ``name``, trimmed, in order."""
        return [value.strip() for key, value in self.fields if key == name and value.strip()]

    def last_values(self) -> dict[str, str]:
        """Return each field's last value, trimmed."""
        return {key: value.strip() for key, value in self.fields}


async def read_form(request: Request) -> Form:
    """Return the form posted with ``request``; refuse cross-site, oversized or broken ones."""
    refuse_cross_site(request)
    limit = request.app.state.services.settings.max_request_bytes
    try:
        body = await read_body(request, limit)
    except ApiError as error:
        raise PageError(error.status, error.message) from None
    return await _parse(request, body)


async def _parse(request: Request, body: bytes) -> Form:
    content_type = request.headers.get("content-type", "")

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        if content_type.startswith("multipart/form-data"):
            parser = MultiPartParser(
                request.headers, stream(), max_files=MAX_FILES, max_fields=MAX_FIELDS
            )
            return await _form(await parser.parse())
        if content_type.startswith("application/x-www-form-urlencoded") or not body:
            return await _form(await FormParser(request.headers, stream()).parse())
    except MultiPartException as error:
        raise PageError(400, f"the form could not be read: {error}") from None
    except UnicodeDecodeError:
        raise PageError(400, "the form is not UTF-8 text") from None
    raise PageError(415, f"expected a form, not {content_type or 'a body without a type'}")


async def _form(data: FormData) -> Form:
    fields: list[tuple[str, str]] = []
    files: dict[str, Upload] = {}
    for key, value in data.multi_items():
        if isinstance(value, UploadFile):
            files[key] = Upload(value.filename or "", await value.read())
            await value.close()
        else:
            fields.append((key, value))
    if len(fields) > MAX_FIELDS:
        raise PageError(400, f"a form has at most {MAX_FIELDS} fields")
    return Form(fields, files)


def refuse_cross_site(request: Request) -> None:
    """Answer 403 to a form that another site's page sent through the visitor's browser."""
    if is_cross_site(request.headers):
        raise PageError(403, "this form can be sent only from daytwo's own pages")
