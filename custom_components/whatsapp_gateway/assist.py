"""Answers from a conversation agent (Assist) to the messages you send to the home.

With the `conversation_agent` option set, each allowed incoming text (your self chat's too,
with `self_chat` on) goes to that agent through `conversation.async_converse`, and the
agent's answer goes back through the outgoing queue as a reply quoting the message.

- One conversation per chat: the first turn uses an id made from the entry and the chat (not a
  ULID, so Home Assistant's chat sessions keep it; hashed, so no number shows in traces);
  later turns pass back the id the agent's last result named, so the agent keeps context.
- `debounce` seconds: a burst of one chat goes to the agent as one text, its lines joined by
  newlines; the burst ends when the chat is quiet that long (or, at the latest, after
  `MAX_WAIT_FACTOR` times that long).
- Answers go out in message order per chat: a chat's next batch waits for the one before.
- The typing indicator comes on when the agent thinks longer than `TYPING_AFTER` (a quick
  answer costs no extra bridge calls), is renewed while it thinks, and goes off before the
  answer is sent. An engine without typing is left alone.
- An agent that fails (an exception, an error response, no speech) sends nothing; a warning
  is logged once per kind of failure, later ones at debug level.
- Buffered (backfilled) messages are answered only with `answer_buffered` on.
- A voice note with a transcript (the `stt_entity` option) is answered like its text.
Message text, numbers and answers are never logged.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
import hashlib
from typing import TYPE_CHECKING, Any

from homeassistant.components import conversation
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Context, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.helpers.event import async_call_later
from homeassistant.setup import async_setup_component

from .bridge import WahaClient, WahaError
from .const import (
    CONF_ANSWER_BUFFERED,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    DOMAIN,
    LOGGER,
    entry_option,
)

if TYPE_CHECKING:
    from .incoming import IncomingMessages
    from .outgoing import OutgoingMessages

# A burst waits at most this many debounce windows after its first message.
MAX_WAIT_FACTOR = 3
# The typing indicator comes on when the agent has not answered after this many seconds...
TYPING_AFTER = 0.5
# ...and is renewed this often while it thinks (WhatsApp drops it after about 25 s).
TYPING_RENEW = 20.0
# At shutdown, answers in progress get this long (s) to reach the outgoing queue.
SHUTDOWN_GRACE = 10.0
# Conversation ids the agents named (other than the chat's own) remembered for this many chats.
MAX_CONVERSATIONS = 1000

FAILURE_MISSING = "missing"
FAILURE_RAISED = "raised"
FAILURE_ERROR = "error_response"
FAILURE_EMPTY = "empty"
FAILURE_SEND = "send"


@dataclass(slots=True)
class _Chat:
    """One chat's messages waiting for the debounce window and batches waiting for the agent."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    quiet_timer: CALLBACK_TYPE | None = None
    deadline_timer: CALLBACK_TYPE | None = None
    batches: deque[list[dict[str, Any]]] = field(default_factory=deque)
    task: asyncio.Task[None] | None = None

    def cancel_timers(self) -> None:
        for unsub in (self.quiet_timer, self.deadline_timer):
            if unsub is not None:
                unsub()
        self.quiet_timer = self.deadline_timer = None


class AgentResponder:
    """Answers an entry's allowed incoming texts with its conversation agent."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        session_name: str,
        incoming: IncomingMessages,
        outgoing: OutgoingMessages,
    ) -> None:
        """Start listening to the incoming messages the policies allow."""
        self._hass = hass
        self._entry = entry
        self._client = client
        self._session_name = session_name
        self._outgoing = outgoing
        self._agent_id: str = entry_option(entry, CONF_CONVERSATION_AGENT)
        self._debounce = float(entry_option(entry, CONF_DEBOUNCE) or 0)
        self._answer_buffered = bool(entry_option(entry, CONF_ANSWER_BUFFERED))
        self._chats: dict[str, _Chat] = {}
        self._conversations: OrderedDict[str, str] = OrderedDict()
        self._warned: set[str] = set()
        self._conversation_ready = False
        self._shut_down = False
        self._unsub = incoming.async_add_responder(self._on_message)

    @classmethod
    def create(
        cls,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        session_name: str,
        incoming: IncomingMessages,
        outgoing: OutgoingMessages,
    ) -> AgentResponder | None:
        """A responder when the entry names a conversation agent, else None."""
        if not entry_option(entry, CONF_CONVERSATION_AGENT):
            return None
        return cls(hass, entry, client, session_name, incoming, outgoing)

    async def async_shutdown(self) -> None:
        """Stop listening; give the answers in progress a moment, then cancel the rest.

        Every delivered message is recorded as handled, so one whose answer is lost here is
        never answered after the restart: bursts waiting for the debounce window go to the
        agent now, and answers get `SHUTDOWN_GRACE` seconds to reach the outgoing queue
        (which is written after this, and survives the restart).
        """
        if self._shut_down:
            return
        self._shut_down = True
        self._unsub()
        for chat_id, chat in list(self._chats.items()):
            if chat.pending:
                self._flush(chat_id)
            chat.cancel_timers()
        tasks = [
            chat.task
            for chat in self._chats.values()
            if chat.task is not None and not chat.task.done()
        ]
        if tasks:
            unfinished = await self._async_wait_grace(tasks)
            for task in unfinished:
                task.cancel()
            for task in unfinished:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._chats.clear()

    async def _async_wait_grace(self, tasks: list[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
        """Wait for `tasks` up to `SHUTDOWN_GRACE` (Home Assistant's clock); the unfinished."""
        deadline: asyncio.Future[None] = self._hass.loop.create_future()

        @callback
        def expire(_now: datetime) -> None:
            if not deadline.done():
                deadline.set_result(None)

        unsub = async_call_later(
            self._hass, SHUTDOWN_GRACE, HassJob(expire, f"{DOMAIN} shutdown grace")
        )
        remaining = set(tasks)
        try:
            while remaining and not deadline.done():
                await asyncio.wait([*remaining, deadline], return_when=asyncio.FIRST_COMPLETED)
                remaining = {task for task in remaining if not task.done()}
        finally:
            unsub()
            deadline.cancel()
        return remaining

    def conversation_id(self, chat_id: str) -> str:
        """The conversation id the chat's next turn uses."""
        return self._conversations.get(chat_id) or self._own_conversation_id(chat_id)

    # ----------------------------------------------------------------------------------
    # Collecting (synchronous: called inside the message delivery)

    @callback
    def _on_message(self, data: dict[str, Any]) -> None:
        if self._shut_down or not message_text(data).strip():
            return
        if data.get("buffered") and not self._answer_buffered:
            return
        chat_id: str = data["chat_id"]
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.pending.append(data)
        if self._debounce <= 0:
            self._flush(chat_id)
            return
        if chat.quiet_timer is not None:
            chat.quiet_timer()
        job = HassJob(
            partial(self._on_window_end, chat_id), f"{DOMAIN} debounce", cancel_on_shutdown=True
        )
        chat.quiet_timer = async_call_later(self._hass, self._debounce, job)
        if chat.deadline_timer is None:
            chat.deadline_timer = async_call_later(
                self._hass, self._debounce * MAX_WAIT_FACTOR, job
            )

    @callback
    def _on_window_end(self, chat_id: str, _now: datetime) -> None:
        self._flush(chat_id)

    @callback
    def _flush(self, chat_id: str) -> None:
        """The chat's burst is complete: queue it for the agent."""
        chat = self._chats[chat_id]
        chat.cancel_timers()
        chat.batches.append(chat.pending)
        chat.pending = []
        if chat.task is None or chat.task.done():
            # Not the entry's task: unloading cancels those at once, before `async_shutdown`
            # lets the answers in progress finish.
            chat.task = self._hass.async_create_background_task(
                self._async_answer_chat(chat_id, chat), f"{DOMAIN} agent answer"
            )

    # ----------------------------------------------------------------------------------
    # Answering

    async def _async_answer_chat(self, chat_id: str, chat: _Chat) -> None:
        """Answer the chat's batches one after the other."""
        while chat.batches:
            await self._async_answer(chat_id, chat.batches.popleft())
        if self._chats.get(chat_id) is chat and not chat.pending:
            # Nothing waits: forget the chat (its conversation id stays).
            del self._chats[chat_id]

    async def _async_answer(self, chat_id: str, batch: list[dict[str, Any]]) -> None:
        last = batch[-1]
        text = "\n".join(message_text(message) for message in batch)
        typing = _Typing(self._hass, self._client, self._session_name, chat_id)
        try:
            speech = await self._async_ask_agent(chat_id, text, last.get("device_id"))
        finally:
            typing.cancel()
        await typing.async_stop()
        if speech is None:
            return
        try:
            await self._outgoing.async_send(chat_id, speech, reply_to=last["message_id"])
        except HomeAssistantError as err:
            self._warn(FAILURE_SEND, "Could not send the agent's answer: %s", err)

    async def _async_ask_agent(self, chat_id: str, text: str, device_id: str | None) -> str | None:
        """The agent's speech, or None (the failure logged)."""
        if not await self._async_conversation_set_up() or (
            conversation.async_get_agent_info(self._hass, self._agent_id) is None
        ):
            self._warn(
                FAILURE_MISSING,
                "The conversation agent %s is not available; messages are not answered",
                self._agent_id,
            )
            return None
        conversation_id = self.conversation_id(chat_id)
        try:
            result = await conversation.async_converse(
                self._hass,
                text,
                conversation_id,
                Context(),
                language=None,
                agent_id=self._agent_id,
                device_id=device_id,
            )
        except Exception as err:  # noqa: BLE001 - an agent is any integration's code
            # Only the kind: an agent's message may quote what it was asked.
            self._warn(
                FAILURE_RAISED,
                "The conversation agent %s failed to answer a message (%s)",
                self._agent_id,
                type(err).__name__,
            )
            return None
        self._remember(chat_id, result.conversation_id)
        response = result.response
        if response.response_type is intent.IntentResponseType.ERROR:
            code = response.error_code.value if response.error_code is not None else "unknown"
            self._warn(
                FAILURE_ERROR,
                "The conversation agent %s answered a message with an error (%s)",
                self._agent_id,
                code,
            )
            return None
        speech = str((response.speech.get("plain") or {}).get("speech") or "")
        if not speech.strip():
            self._warn(
                FAILURE_EMPTY,
                "The conversation agent %s gave no answer to a message",
                self._agent_id,
            )
            return None
        return speech

    async def _async_conversation_set_up(self) -> bool:
        """Set up `conversation` if nothing did yet (it is an after dependency only)."""
        if not self._conversation_ready:
            self._conversation_ready = await async_setup_component(
                self._hass, conversation.DOMAIN, {}
            )
        return self._conversation_ready

    # ----------------------------------------------------------------------------------
    # Bookkeeping

    def _own_conversation_id(self, chat_id: str) -> str:
        digest = hashlib.sha256(f"{self._entry.entry_id}|{chat_id}".encode()).hexdigest()
        return f"{DOMAIN}_{digest[:24]}"

    def _remember(self, chat_id: str, conversation_id: str | None) -> None:
        if conversation_id is None or conversation_id == self._own_conversation_id(chat_id):
            self._conversations.pop(chat_id, None)
            return
        self._conversations[chat_id] = conversation_id
        self._conversations.move_to_end(chat_id)
        if len(self._conversations) > MAX_CONVERSATIONS:
            self._conversations.popitem(last=False)

    def _warn(self, kind: str, message: str, *args: object) -> None:
        log = LOGGER.debug if kind in self._warned else LOGGER.warning
        self._warned.add(kind)
        log(message, *args)


def message_text(data: dict[str, Any]) -> str:
    """What a message says: its text, else a voice note's transcript."""
    text = str(data.get("text") or "")
    if text.strip():
        return text
    media = data.get("media")
    transcript = media.get("transcript") if isinstance(media, dict) else None
    return transcript if isinstance(transcript, str) else ""


class _Typing:
    """The typing indicator of one answer: on after `TYPING_AFTER`, renewed, then off."""

    def __init__(
        self, hass: HomeAssistant, client: WahaClient, session_name: str, chat_id: str
    ) -> None:
        self._hass = hass
        self._client = client
        self._session_name = session_name
        self._chat_id = chat_id
        self._request: asyncio.Task[None] | None = None
        self._timer: CALLBACK_TYPE | None = None
        if self._usable:
            self._schedule(TYPING_AFTER)

    @property
    def _usable(self) -> bool:
        return self._client.capabilities.typing is not False

    def _schedule(self, delay: float) -> None:
        self._timer = async_call_later(
            self._hass, delay, HassJob(self._fire, f"{DOMAIN} typing", cancel_on_shutdown=True)
        )

    @callback
    def _fire(self, _now: datetime) -> None:
        self._timer = None
        if not self._usable:
            return
        self._request = self._hass.async_create_background_task(
            self._async_call(self._client.start_typing), f"{DOMAIN} typing"
        )
        self._schedule(TYPING_RENEW)

    def cancel(self) -> None:
        """No more renewals (the answer is in, or the entry stops)."""
        if self._timer is not None:
            self._timer()
            self._timer = None

    async def async_stop(self) -> None:
        """Turn the indicator off if it came on (after its own request is through)."""
        self.cancel()
        if self._request is None:
            return
        await self._request
        if self._usable:
            await self._async_call(self._client.stop_typing)

    async def _async_call(self, call: Callable[[str, str], Any]) -> None:
        try:
            await call(self._session_name, self._chat_id)
        except WahaError as err:
            LOGGER.debug("The typing indicator failed: %s", type(err).__name__)
