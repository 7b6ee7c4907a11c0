"""The request log behind "no hammering" assertions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request or WebSocket upgrade (``method`` "WS").

    Appended when the request arrives; ``status`` is 0 until it is answered
    (101 for an upgrade), and stays 0 when the bridge went away first or dropped the
    answer (``drop_send_answers``). ``session`` comes from the path, the ``session``
    query of ``/ws``, or for ``POST /api/sendText`` from the body (``"default"`` when the
    body has none; None when the body is not a JSON object).
    """

    method: str
    path: str
    session: str | None
    status: int
    time: float


class RequestLog:
    """Records requests with a replaceable clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.records: list[RequestRecord] = []

    def add(self, method: str, path: str, session: str | None, status: int = 0) -> RequestRecord:
        """Append a record stamped with the clock and return it."""
        record = RequestRecord(method, path, session, status, self.clock())
        self.records.append(record)
        return record

    def count(
        self,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        session: str | None = None,
        since: float | None = None,
    ) -> int:
        """How many records match every given filter."""
        return sum(
            1
            for record in self.records
            if (method is None or record.method == method)
            and (path_prefix is None or record.path.startswith(path_prefix))
            and (session is None or record.session == session)
            and (since is None or record.time >= since)
        )

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()
