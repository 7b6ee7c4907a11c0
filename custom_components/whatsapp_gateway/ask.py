"""Open questions: the `whatsapp_gateway.ask` action sends a question and waits for its answer.

- With options, the question goes out as a poll when the bridge can send polls and report
  the votes; otherwise (no options, or polls not possible or not known to be) as text, the
  options numbered on lines under it ("1. Yes").
- The answer is the first one from the target that came after the question went out:
  in a direct chat any text in that chat (your own only in your self chat), in a group a
  message quoting the question; anywhere a vote on the question's poll (a vote that takes
  the choice back does not count). WhatsApp timestamps are whole seconds and clocks differ a
  little: a message `SLACK` seconds older than the question still counts.
- A text answer names an option by its number ("2", "2.") or its text (case and surrounding
  spaces ignored); a vote by its first chosen option.
- Answers are offered by `incoming` before the sender policy (whom you asked may answer,
  listed or not) and still fire their normal events; an answer that arrives through the
  backfill after a link drop counts like a live one.
- The timeout covers the whole call: waiting for an earlier question to the same chat, the
  question waiting in the outgoing queue while the link is down (it expires with the call)
  and the wait for the answer. A question to a chat with a question still open waits until
  that one is answered or timed out, so answers map to questions in order; questions to
  different chats wait side by side.
- No answer in time, a queued question that could not be sent, or the entry unloading: the
  call returns `timed_out: true` with no answer. An unload ends the wait the same way as a
  timeout on purpose: an automation author handles "no answer" already (a `timed_out`
  branch), a reload of the integration is not their automation's failure, and an error
  would stop the automation in the middle instead.
Question and answer texts, numbers and message ids are never logged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
import math
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, Event, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .bridge import WahaClient, bare_message_id
from .const import DOMAIN, EVENT_MESSAGE_FAILED, EVENT_MESSAGE_SENT, LOGGER

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .incoming import IncomingMessages
    from .outgoing import OutgoingMessages

# A message this many seconds older than the question (whole-second timestamps, clocks that
# differ a little) still answers it.
SLACK = 2
# A question waiting in the outgoing queue expires no sooner than this (the queue's minimum).
MIN_QUEUE_TTL = 1.0
# What a wait ends with when its queued poll was refused: the question goes out again as text.
ASK_AGAIN: Final[dict[str, Any]] = {}


def numbered(question: str, options: Sequence[str]) -> str:
    """The question as text, its options numbered on lines under it."""
    lines = [f"{number}. {option}" for number, option in enumerate(options, start=1)]
    return "\n".join([question, *lines])


def matching_option(text: str, options: Sequence[str]) -> str | None:
    """The option a text answer names by number ("1", "1.", " 2 ") or by text, else None."""
    answer = text.strip()
    number = answer.rstrip(".)").strip()
    if number.isdecimal() and 1 <= int(number) <= len(options):
        return options[int(number) - 1]
    folded = answer.casefold()
    for option in options:
        if option.strip().casefold() == folded:
            return option
    return None


def _timestamp(data: dict[str, Any]) -> float | None:
    """The WhatsApp time of a delivered message (ISO 8601 in the event data), if readable."""
    value = data.get("timestamp")
    parsed = dt_util.parse_datetime(value) if isinstance(value, str) else None
    return None if parsed is None else parsed.timestamp()


def _result(
    *,
    answer: str | None = None,
    option: str | None = None,
    sender: str | None = None,
    message_id: str | None = None,
    timed_out: bool = False,
) -> dict[str, Any]:
    return {
        "answer": answer,
        "option": option,
        "sender": sender,
        "message_id": message_id,
        "timed_out": timed_out,
    }


@dataclass(slots=True, eq=False)
class _Question:
    """One call of `ask`: its chat, its options and where its question is."""

    chat_id: str
    question: str
    options: tuple[str, ...]
    deadline: float
    """When the call times out (UTC seconds)."""
    done: asyncio.Future[dict[str, Any]]
    turn: asyncio.Future[None] | None = None
    """Set when the question before it in the same chat is finished."""
    timer: CALLBACK_TYPE | None = None
    queue_id: str | None = None
    poll: bool = False
    """Whether it was sent (or queued) as a poll."""
    message_id: str | None = None
    bare_id: str | None = None
    sent_at: float | None = None
    """When the question went out (UTC seconds); None while it waits to be sent."""

    @property
    def is_group(self) -> bool:
        return self.chat_id.endswith("@g.us")

    def finish(self, result: dict[str, Any]) -> None:
        if not self.done.done():
            self.done.set_result(result)
        if self.turn is not None and not self.turn.done():
            self.turn.set_result(None)
        if self.timer is not None:
            self.timer()
            self.timer = None

    def timed_out(self) -> dict[str, Any]:
        return _result(message_id=self.message_id, timed_out=True)


class OpenQuestions:
    """The entry's questions waiting for answers (`async_ask`), fed by the incoming hook."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        incoming: IncomingMessages,
        outgoing: OutgoingMessages,
    ) -> None:
        """Listen to incoming answers and to the sends of queued questions."""
        self._hass = hass
        self._entry_id = entry.entry_id
        self._client = client
        self._incoming = incoming
        self._outgoing = outgoing
        self._chats: dict[str, deque[_Question]] = {}
        """chat id -> its questions, the one asked (or being asked) first."""
        self._shut_down = False
        self._unsubs: list[CALLBACK_TYPE] = [
            incoming.async_add_answer_hook(self._on_answer),
            hass.bus.async_listen(EVENT_MESSAGE_SENT, self._on_sent, self._is_ours),
            hass.bus.async_listen(EVENT_MESSAGE_FAILED, self._on_failed, self._is_ours),
        ]

    async def async_ask(
        self,
        chat_id: str,
        question: str,
        options: Sequence[str] | None,
        *,
        timeout: float,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Ask `question` in `chat_id`; the first answer, or `timed_out` after `timeout` s.

        The timeout runs on a Home Assistant timer (`async_call_later`), not `asyncio.timeout`:
        it also ends the wait for the turn and the queue, and frozen-time tests move it.
        """
        loop = self._hass.loop
        asked = _Question(
            chat_id=chat_id,
            question=question,
            options=tuple(options or ()),
            deadline=_now() + timeout,
            done=loop.create_future(),
        )
        if self._shut_down:
            return asked.timed_out()
        asked.timer = async_call_later(
            self._hass,
            timeout,
            HassJob(partial(self._on_timeout, asked), f"{DOMAIN} ask", cancel_on_shutdown=True),
        )
        line = self._chats.setdefault(chat_id, deque())
        line.append(asked)
        try:
            if line[0] is not asked:
                asked.turn = loop.create_future()
                await asked.turn
            while True:
                if not asked.done.done():
                    await self._async_send(asked)
                result = await asked.done
                if result is not ASK_AGAIN:
                    # An answer may come before the bridge's answer named the question.
                    return {**result, "message_id": asked.message_id}
                asked.done = loop.create_future()
        finally:
            asked.finish(asked.timed_out())
            self._leave(asked)

    @callback
    def shutdown(self) -> None:
        """The entry unloads: stop listening, end every wait (`timed_out`)."""
        self._shut_down = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for line in list(self._chats.values()):
            for asked in list(line):
                asked.finish(asked.timed_out())

    # ----------------------------------------------------------------------------------
    # Asking

    async def _async_send(self, asked: _Question) -> None:
        """Send the question (a poll where the bridge can), note its id or its queue id.

        A poll the bridge refuses (the engine lacks it) is asked again as numbered text.
        """
        capabilities = self._client.capabilities
        poll = (
            bool(asked.options) and capabilities.polls is True and capabilities.poll_votes is True
        )
        question = asked.question
        text = question if poll or not asked.options else numbered(question, asked.options)
        ttl = max(asked.deadline - _now(), MIN_QUEUE_TTL)
        # Answers written from this second on may count while the send is on its way.
        asked.sent_at = _now()
        asked.poll = poll
        try:
            result = await self._outgoing.async_send(
                asked.chat_id, text, ttl=ttl, poll_options=asked.options if poll else None
            )
        except HomeAssistantError:
            asked.sent_at = None
            if poll and self._client.capabilities.polls is False:
                LOGGER.debug("The bridge refused the poll; asking with numbered options")
                await self._async_send(asked)
                return
            raise
        if result["status"] == "sent":
            self._went_out(asked, result["message_id"])
            return
        LOGGER.debug("The question waits in the outgoing queue")
        asked.sent_at = None
        asked.queue_id = result["queue_id"]

    def _went_out(self, asked: _Question, message_id: str | None) -> None:
        asked.message_id = message_id or None
        asked.bare_id = bare_message_id(message_id) if message_id else None
        if asked.sent_at is None:
            asked.sent_at = _now()

    @callback
    def _is_ours(self, data: dict[str, Any]) -> bool:
        return bool(data.get("config_entry_id") == self._entry_id)

    def _queued(self, queue_id: object) -> _Question | None:
        for line in self._chats.values():
            for asked in line:
                if asked.queue_id is not None and asked.queue_id == queue_id:
                    return asked
        return None

    @callback
    def _on_sent(self, event: Event[dict[str, Any]]) -> None:
        """A queued question went out: the wait for its answer starts now."""
        asked = self._queued(event.data.get("queue_id"))
        if asked is not None and asked.message_id is None:
            LOGGER.debug("A queued question went out")
            self._went_out(asked, event.data.get("message_id"))

    @callback
    def _on_failed(self, event: Event[dict[str, Any]]) -> None:
        """A queued question expired or was refused: no answer can come."""
        asked = self._queued(event.data.get("queue_id"))
        if asked is None or asked.done.done():
            return
        asked.queue_id = None
        if asked.poll and self._client.capabilities.polls is False:
            LOGGER.debug("The bridge refused the queued poll; asking with numbered options")
            asked.done.set_result(ASK_AGAIN)
            return
        LOGGER.debug("A queued question could not be sent: %s", event.data.get("reason"))
        asked.finish(asked.timed_out())

    @callback
    def _on_timeout(self, asked: _Question, _now: datetime) -> None:
        asked.timer = None
        LOGGER.debug("A question timed out")
        asked.finish(asked.timed_out())

    def _leave(self, asked: _Question) -> None:
        """The call is over: the next question to the same chat may go out."""
        line = self._chats[asked.chat_id]
        was_first = line[0] is asked
        line.remove(asked)
        if not line:
            del self._chats[asked.chat_id]
        elif was_first and line[0].turn is not None and not line[0].turn.done():
            line[0].turn.set_result(None)

    # ----------------------------------------------------------------------------------
    # Answers (synchronous: called inside the message delivery)

    @callback
    def _on_answer(self, data: dict[str, Any]) -> bool:
        """Whether a delivered message or a poll vote answers an open question."""
        if data.get("from_me") and data.get("chat_id") not in self._incoming.own_chats():
            return False  # your own messages answer only in your self chat
        for line in self._chats.values():
            asked = line[0]
            if asked.sent_at is None or asked.done.done():
                continue
            result = (
                self._vote_answer(asked, data)
                if data.get("vote")
                else self._message_answer(asked, data)
            )
            if result is not None:
                LOGGER.debug("A question was answered")
                asked.finish(result)
                return True
        return False

    def _vote_answer(self, asked: _Question, data: dict[str, Any]) -> dict[str, Any] | None:
        poll_id, chosen = data.get("poll_id"), data.get("options") or []
        if asked.bare_id is None or not poll_id or not chosen:
            return None
        if bare_message_id(str(poll_id)) != asked.bare_id:
            return None
        return _result(
            answer=", ".join(str(option) for option in chosen),
            option=str(chosen[0]),
            sender=data.get("sender"),
            message_id=asked.message_id,
        )

    def _message_answer(self, asked: _Question, data: dict[str, Any]) -> dict[str, Any] | None:
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            return None
        if asked.is_group:
            reply_to = data.get("reply_to")
            if (
                data.get("chat_id") != asked.chat_id
                or asked.bare_id is None
                or not reply_to
                or bare_message_id(str(reply_to)) != asked.bare_id
            ):
                return None
        elif data.get("is_group") or not self._same_chat(asked.chat_id, data):
            return None
        written = _timestamp(data)
        sent_at = asked.sent_at
        if written is not None and sent_at is not None and written < math.floor(sent_at) - SLACK:
            return None  # written before the question went out
        return _result(
            answer=text,
            option=matching_option(text, asked.options) if asked.options else None,
            sender=data.get("sender"),
            message_id=asked.message_id,
        )

    def _same_chat(self, chat_id: str, data: dict[str, Any]) -> bool:
        """A direct chat: by its id, a hidden `@lid` sender resolved to it, or your self chat."""
        if chat_id in (data.get("chat_id"), data.get("sender")):
            return True
        own = self._incoming.own_chats()
        return chat_id in own and data.get("chat_id") in own


def _now() -> float:
    return dt_util.utcnow().timestamp()
