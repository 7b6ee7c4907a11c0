"""Error answers, with the bodies WAHA sends."""

from __future__ import annotations

import base64
from http import HTTPStatus
import time
from typing import TYPE_CHECKING

from .profile import DOCS_URL

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .model import JsonDict, Status


class ApiError(Exception):
    """An error answer: HTTP status and JSON body."""

    def __init__(self, status: int, body: JsonDict) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def unauthorized() -> ApiError:
    """401 for a wrong or missing key."""
    return ApiError(401, {"message": "Unauthorized", "statusCode": 401})


def forbidden() -> ApiError:
    """403 for a key without rights on the session."""
    return ApiError(403, {"message": "Forbidden", "statusCode": 403})


def session_not_found() -> ApiError:
    """404 of the sessions endpoints for an unknown session."""
    return ApiError(404, {"message": "Session not found", "error": "Not Found", "statusCode": 404})


def session_not_running(name: str) -> ApiError:
    """404 of the endpoints that need a running session."""
    message = (
        f"We didn't find a session with name '{name}'.\n"
        f"Please start it first by using POST /api/sessions/{name}/start request"
    )
    return ApiError(404, {"message": message, "error": "Not Found", "statusCode": 404})


def unexpected_status(name: str, status: Status, expected: Iterable[Status]) -> ApiError:
    """422 when the session runs but is not in the needed status."""
    return ApiError(
        422,
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": name,
            "status": str(status),
            "expected": [str(item) for item in expected],
        },
    )


def session_does_not_exist(name: str) -> ApiError:
    """422 of the status-waiting endpoints for a session that does not exist (no ``expected``)."""
    return ApiError(422, {"error": f'Session "{name}" does not exist', "session": name})


def only_default_session(name: str) -> ApiError:
    """422 of single-session Core for any other name than ``default`` (``manager.core.ts``)."""
    encoded = base64.b64encode(name.encode()).decode("ascii")
    return unprocessable(
        f"WAHA Core support only 'default' session. You tried to access '{name}' session "
        f"(base64: {encoded}). If you want to run more then one WhatsApp account - please get "
        f"WAHA PLUS version. Check this out: {DOCS_URL}"
    )


def already_started(name: str) -> ApiError:
    """422 of ``start`` for a running session (FAILED included)."""
    return unprocessable(f"Session '{name}' is already started.")


def not_implemented(engine: str) -> ApiError:
    """501 NotImplementedByEngineError (``core/exceptions.ts``)."""
    message = (
        f"The method is not implemented by '{engine}' engine. Check the docs and try another "
        f"engine: {DOCS_URL}"
    )
    return ApiError(501, {"message": message, "error": "Not Implemented", "statusCode": 501})


def plus_only(engine: str, feature: str = "The feature") -> ApiError:
    """422 AvailableInPlusVersion (``core/exceptions.ts``)."""
    return unprocessable(
        f"{feature} is available only in Plus version for '{engine}' engine. "
        f"Check this out: {DOCS_URL}"
    )


NOWEB_STORE_DISABLED = (
    'Enable NOWEB store "config.noweb.store.enabled=True" and '
    '"config.noweb.store.full_sync=True" when starting a new session. '
    "Read more: https://waha.devlike.pro/docs/engines/noweb#store"
)


def store_disabled() -> ApiError:
    """400 of NOWEB's chats, messages and LIDs without a store (``NowebInMemoryStore.ts``)."""
    return ApiError(
        400, {"message": NOWEB_STORE_DISABLED, "error": "Bad Request", "statusCode": 400}
    )


def message_not_found() -> ApiError:
    """404 of ``GET .../messages/{messageId}`` (``chats.controller.ts``)."""
    return ApiError(404, {"message": "Message not found", "error": "Not Found", "statusCode": 404})


def file_not_found() -> ApiError:
    """404 of ``/api/files/...`` for a file the bridge does not have.

    ``@nestjs/serve-static``'s render handler tries ``index.html`` of the files folder.
    """
    message = "ENOENT: no such file or directory, stat '/tmp/whatsapp-files/index.html'"
    return ApiError(404, {"message": message, "error": "Not Found", "statusCode": 404})


def invalid_lid() -> ApiError:
    """422 of ``GET /api/{s}/lids/{lid}`` when ``lid`` is no ``@lid`` (``lids.controller.ts``)."""
    return unprocessable("Invalid LID - it must end with @lid")


def bad_request_detail(detail: str) -> ApiError:
    """400 with a ``{"detail"}`` body (``BadRequestException({detail})``, e.g. presence)."""
    return ApiError(400, {"detail": detail})


def session_exists(name: str) -> ApiError:
    """422 when creating a session that exists."""
    return ApiError(
        422,
        {
            "message": f"Session '{name}' already exists. Use PUT to update it.",
            "error": "Unprocessable Entity",
            "statusCode": 422,
        },
    )


def unprocessable(message: str) -> ApiError:
    """422 of a session method that refuses in the current state (NestJS style)."""
    return ApiError(422, {"message": message, "error": "Unprocessable Entity", "statusCode": 422})


def bad_request(message: str) -> ApiError:
    """400 for a body or query the bridge rejects."""
    return ApiError(400, {"message": [message], "error": "Bad Request", "statusCode": 400})


def route_not_found(method: str, path: str) -> ApiError:
    """404 for a path the bridge does not serve (NestJS style)."""
    return ApiError(
        404, {"message": f"Cannot {method} {path}", "error": "Not Found", "statusCode": 404}
    )


def send_failed(status: int, message: str | None = None) -> ApiError:
    """An armed ``fail_sends`` fault: ``status`` (500 transient, 400 rejected) with a body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    text = message or ("Failed to send the message" if status >= 500 else "Message rejected")
    if status == 400:
        return ApiError(400, {"message": [text], "error": phrase, "statusCode": 400})
    return ApiError(status, {"message": text, "error": phrase, "statusCode": status})


def internal(message: str, *, method: str, path: str, name: str = "Error") -> ApiError:
    """500 of an error thrown inside an engine (``nestjs/AllExceptionsFilter.ts``).

    The routes without a validation pipe (``sendPoll``, ``reaction``, ``sendSeen``, typing)
    fail this way on a malformed body. The real answer also echoes the request body; the
    double leaves it out (it may hold message text).
    """
    return ApiError(
        500,
        {
            "statusCode": 500,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "exception": {"message": message, "name": name},
            "request": {"path": path, "method": method},
        },
    )


BAD_MESSAGE_ID = "Message id be in format false_11111111111@c.us_AAAAAAAAAAAAAAAAAAAA[_participant]"
"""``core/utils/ids.ts`` ``parseMessageIdSerialized`` for an id that is not serialized."""


class AnswerDropped(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by a handler whose answer must never be written: the connection is closed."""
