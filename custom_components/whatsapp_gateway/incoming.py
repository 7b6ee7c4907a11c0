"""Incoming messages in Home Assistant: bus events, the `message` event entity, persistence.

The delivery logic (dedupe, cursors, backfill) is `inbox.MessageInbox`; this module turns
each delivered message into a `whatsapp_gateway_message_received` event, tells the event
entity, resolves hidden `@lid` senders to phone numbers when the bridge knows them, and keeps
the ledger in storage. The sender policy (`policy.SenderPolicy`) decides what counts: a
refused message fires nothing but is recorded as handled, so it is never replayed. Reactions
and poll votes come live only (WAHA keeps no history of them) and fire their own events.
An open question (`ask`) sees an answer before the policy: whom you asked may answer.
A message's file is saved (`media_in.MediaReceiver`) before its event fires, which then
carries `media`, `media_error` and `location`; a failure there never stops the event.
Message bodies and numbers are never logged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .bridge import WahaClient, WahaError, WaMessage, WaPollVote, WaReaction, bare_message_id
from .bridge.errors import WahaStoreDisabledError
from .const import (
    CONF_BACKFILL_HOURS,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_POLL_VOTE,
    EVENT_REACTION_RECEIVED,
    LOGGER,
    entry_option,
)
from .inbox import BridgeHistory, MessageInbox, self_chat_deliverable
from .ledger import MessageLedger
from .media_in import ERROR_INTERNAL, NO_MEDIA, MediaReceiver, ReceivedMedia, location_data
from .own_sends import OwnSends
from .policy import SenderPolicy
from .storage import PeriodicSave

STORAGE_VERSION = 1
# Write the ledger at most this often while messages flow (and always at shutdown).
SAVE_DELAY = 10.0
# A chat's newest message this old that never arrived means the stream stalled.
STALL_GRACE = 10.0
# A backfill failing this many times in a row is given up (the held messages go out).
MAX_BACKFILL_FAILURES = 3
# Looked-up `@lid` senders remembered (unknown ones are asked again after a while).
LID_CACHE_SIZE = 1000
LID_RETRY_AFTER = timedelta(minutes=10)
# Reactions and votes remembered to drop repeats (the bridge may send an event twice).
RECENT_EVENTS = 1000

type MessageListener = Callable[[dict[str, Any]], None]
# Offered each message or vote before the policy; True = it answered an open question.
type AnswerHook = Callable[[dict[str, Any]], bool]


def inbox_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The store of one entry's dedupe window, cursors and watermark."""
    return Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.inbox", private=True)


class IncomingMessages:
    """One entry's incoming message path."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        client: WahaClient,
        session_name: str,
        *,
        media: MediaReceiver | None = None,
    ) -> None:
        """Nothing is read until `async_load`; `media` saves received files (None: never)."""
        self._hass = hass
        self._media = media
        self._entry = entry
        self._client = client
        self._session_name = session_name
        self.policy = SenderPolicy.from_options(entry.options)
        self._own_chats: frozenset[str] = frozenset()
        self._history = BridgeHistory(client, session_name, self.own_chats)
        self._store = inbox_store(hass, entry.entry_id)
        self._saver = PeriodicSave(self._store, self._storage_data, SAVE_DELAY)
        self._backfill_hours = float(entry_option(entry, CONF_BACKFILL_HOURS))
        self._listeners: list[MessageListener] = []
        self._responders: list[MessageListener] = []
        self._answer_hooks: list[AnswerHook] = []
        self._recent_events: OrderedDict[object, None] = OrderedDict()
        # WhatsApp id -> serialized id of recent messages, for the ids quotes carry.
        self._received_ids: OrderedDict[str, str] = OrderedDict()
        self._lids: OrderedDict[str, tuple[str | None, datetime]] = OrderedDict()
        self._device_id: str | None = None
        self._failures = 0
        self._warned_give_up = False
        # WhatsApp timestamps are whole seconds: a message of this very second is not handled.
        watermark = math.floor(_now())
        self.inbox = MessageInbox(
            MessageLedger(watermark=watermark),
            self._async_deliver,
            clock=_now,
            deliverable=self_chat_deliverable(self.own_chats),
        )
        self.own_sends = OwnSends(lambda: self.inbox.ledger, _now)
        """Told of every send, so the gateway's own messages never come back as events."""

    async def async_load(self) -> None:
        """Restore the ledger; a brand-new entry starts now, so it replays no history."""
        stored = await self._store.async_load()
        if stored is None:
            self._schedule_save()
            return
        self.inbox.ledger = MessageLedger.from_dict(
            stored, default_watermark=self.inbox.ledger.watermark
        )

    async def async_save(self) -> None:
        """Write the ledger now (at shutdown)."""
        await self._saver.async_save_now()

    @callback
    def async_add_listener(self, listener: MessageListener) -> CALLBACK_TYPE:
        """Call `listener` with each received message's event data."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @callback
    def async_add_responder(self, responder: MessageListener) -> CALLBACK_TYPE:
        """Call `responder` with each received message that no open question took."""
        self._responders.append(responder)
        return lambda: self._responders.remove(responder)

    @callback
    def async_add_answer_hook(self, hook: AnswerHook) -> CALLBACK_TYPE:
        """Offer `hook` every message and poll vote first (see `AnswerHook`)."""
        self._answer_hooks.append(hook)
        return lambda: self._answer_hooks.remove(hook)

    def own_chats(self) -> frozenset[str]:
        """Your self chat's ids when `self_chat` is on (its number and hidden id), else none."""
        return self._own_chats

    @callback
    def set_account(self, account_ids: Iterable[str | None]) -> None:
        """The account's chat ids, as the session reports them."""
        if self.policy.self_chat:
            self._own_chats = frozenset(chat for chat in account_ids if chat)

    async def async_on_reaction(self, reaction: WaReaction) -> None:
        """A reaction from the stream: fire `whatsapp_gateway_reaction_received` once."""
        if not self._first_time(("reaction", reaction.id, reaction.reaction)):
            return
        sender = await self._async_sender(reaction.sender)
        if not self._counts(reaction.chat_id, (reaction.sender, sender), reaction.from_me):
            LOGGER.debug("Ignored a reaction the talk options do not allow")
            return
        self._hass.bus.async_fire(
            EVENT_REACTION_RECEIVED,
            {
                "config_entry_id": self._entry.entry_id,
                "device_id": self._get_device_id(),
                "message_id": reaction.message_id,
                "chat_id": reaction.chat_id,
                "sender": sender,
                "reaction": reaction.reaction,
            },
        )

    async def async_on_poll_vote(self, vote: WaPollVote) -> None:
        """A poll vote from the stream: fire `whatsapp_gateway_poll_vote` once."""
        if vote.failed:
            LOGGER.debug("The bridge could not read a poll vote")
            return
        if not self._first_time(("vote", vote.poll_id, vote.sender, vote.options, vote.timestamp)):
            return
        sender = await self._async_sender(vote.sender)
        data: dict[str, Any] = {
            "config_entry_id": self._entry.entry_id,
            "device_id": self._get_device_id(),
            "poll_id": vote.poll_id,
            "chat_id": vote.chat_id,
            "sender": sender,
            "options": list(vote.options),
        }
        answered = self._offer_answer({**data, "from_me": vote.from_me, "vote": True})
        if not answered and not self._counts(vote.chat_id, (vote.sender, sender), vote.from_me):
            LOGGER.debug("Ignored a poll vote the talk options do not allow")
            return
        self._hass.bus.async_fire(EVENT_POLL_VOTE, data)

    @callback
    def mark_gap(self) -> None:
        """The stream may have missed messages: backfill before delivering live ones."""
        self.inbox.mark_gap()

    @property
    def backfill_due(self) -> bool:
        """Whether a backfill should run (and none is running)."""
        return self.inbox.backfill_due and not self.inbox.backfilling

    async def async_on_live(self, message: WaMessage) -> None:
        """A message from the stream."""
        await self.inbox.async_on_live(message)

    async def async_backfill(self) -> None:
        """Deliver what was missed; after repeated failures, give up on this gap."""
        try:
            delivered = await self.inbox.async_backfill(self._history, floor=self._floor())
        except WahaError as err:
            self._failures += 1
            # A NOWEB session without its store has no history to wait for (its repair says
            # so); otherwise a few tries before giving up on this gap.
            if self._failures < MAX_BACKFILL_FAILURES and not isinstance(
                err, WahaStoreDisabledError
            ):
                LOGGER.debug("Could not read the messages missed while offline: %s", err)
                return
            # Once per kind: a bridge without working history endpoints fails every gap.
            log = LOGGER.debug if self._warned_give_up else LOGGER.warning
            self._warned_give_up = True
            log(
                "Could not read the messages missed while offline from %s (%s); "
                "delivering new messages without them",
                self._client.origin,
                err,
            )
            self._failures = 0
            await self.inbox.async_give_up_backfill()
            self._schedule_save()
            return
        self._failures = 0
        if delivered:
            LOGGER.info("Delivered %s messages received while offline", delivered)
        self._schedule_save()

    async def async_stream_stalled(self) -> bool:
        """Whether the bridge holds a message the stream never delivered."""
        try:
            return await self.inbox.async_find_missed(
                self._history, floor=self._floor(), grace=STALL_GRACE
            )
        except WahaError as err:
            LOGGER.debug("Could not check the chats for missed messages: %s", err)
            return False

    def diagnostics(self) -> dict[str, Any]:
        """Sizes only: no ids, chats or text."""
        ledger = self.inbox.ledger
        return {
            "dedupe_window": len(ledger),
            "chats_with_cursor": ledger.chat_count,
            "held_live_messages": self.inbox.held,
            "backfill_due": self.inbox.backfill_due,
            "delivered_since_start": self.inbox.delivered,
        }

    # ----------------------------------------------------------------------------------

    def _floor(self) -> float:
        """Nothing older than `backfill_hours` is replayed."""
        return _now() - self._backfill_hours * 3600

    async def _async_deliver(self, message: WaMessage, buffered: bool) -> None:
        if self.own_sends.claims(message):
            return  # the echo of a message the gateway is sending itself
        sender = await self._async_sender(message.sender)
        timestamp = message.timestamp if message.timestamp is not None else _now()
        data: dict[str, Any] = {
            "config_entry_id": self._entry.entry_id,
            "device_id": self._get_device_id(),
            "message_id": message.id,
            "chat_id": message.chat_id,
            "sender": sender,
            "sender_name": message.push_name,
            "text": message.body or "",
            "timestamp": datetime.fromtimestamp(timestamp, UTC).isoformat(),
            "is_group": message.is_group,
            "has_media": message.has_media,
            "buffered": buffered,
            "from_me": message.from_me,
            "reply_to": self._quoted_id(message.reply_to),
        }
        received = await self._async_media(message, sender)
        data["media"] = received.media
        data["media_error"] = received.error
        data["location"] = location_data(message.location)
        # From here on, synchronous: see `inbox.Deliver`.
        self._schedule_save()
        self._remember_id(message.id)
        answered = self._offer_answer(data)
        if not answered and not self._counts(
            message.chat_id, (message.sender, sender), message.from_me
        ):
            LOGGER.debug("Ignored a message the talk options do not allow")
            return
        self._hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, data)
        for listener in list(self._listeners):
            listener(data)
        if not answered:
            for responder in list(self._responders):
                responder(data)

    async def _async_media(self, message: WaMessage, sender: str) -> ReceivedMedia:
        """The message's file, saved, when its event will fire (a refused one keeps none).

        Whatever fails here becomes `media_error`: the event fires once regardless. A
        cancellation (shutdown) passes through before anything is recorded, so the message
        is delivered after the restart instead.
        """
        if self._media is None or not self._counts(
            message.chat_id, (message.sender, sender), message.from_me
        ):
            return NO_MEDIA
        try:
            return await self._media.async_receive(message)
        except Exception:  # noqa: BLE001 - the event must fire whatever happened
            LOGGER.debug("Saving a received file failed unexpectedly")
            return ReceivedMedia(error=ERROR_INTERNAL)

    def _counts(self, chat_id: str, senders: tuple[str, str], from_me: bool) -> bool:
        """Whether the talk options let it through (own ones only in your self chat)."""
        if from_me and chat_id not in self._own_chats:
            return False
        return self.policy.allows(chat_id=chat_id, senders=senders, from_me=from_me)

    def _quoted_id(self, quoted: str | None) -> str | None:
        """A quote's id in the form of `message_id` where the message is known.

        WAHA's quotes carry the bare WhatsApp id on every engine.
        """
        if quoted is None:
            return None
        key = bare_message_id(quoted)
        return self.own_sends.full_id(key) or self._received_ids.get(key) or quoted

    def _remember_id(self, message_id: str) -> None:
        self._received_ids[bare_message_id(message_id)] = message_id
        if len(self._received_ids) > RECENT_EVENTS:
            self._received_ids.popitem(last=False)

    def _offer_answer(self, data: dict[str, Any]) -> bool:
        return any(hook(data) for hook in list(self._answer_hooks))

    def _first_time(self, key: object) -> bool:
        if key in self._recent_events:
            return False
        self._recent_events[key] = None
        if len(self._recent_events) > RECENT_EVENTS:
            self._recent_events.popitem(last=False)
        return True

    async def _async_sender(self, sender: str) -> str:
        """The sender as a phone chat id where a hidden `@lid` id can be resolved."""
        if sender.endswith("@lid"):
            return await self._async_resolve_lid(sender)
        return sender

    async def _async_resolve_lid(self, lid: str) -> str:
        """The phone chat id behind a hidden id when the bridge knows it, else the id."""
        now = dt_util.utcnow()
        cached = self._lids.get(lid)
        if cached is not None and (cached[0] is not None or now - cached[1] < LID_RETRY_AFTER):
            return cached[0] or lid
        try:
            phone = await self._client.lid_to_phone(self._session_name, lid)
        except WahaError as err:
            LOGGER.debug("Could not resolve a hidden sender id: %s", err)
            phone = None
        self._lids[lid] = (phone, now)
        if len(self._lids) > LID_CACHE_SIZE:
            self._lids.popitem(last=False)
        return phone or lid

    def _get_device_id(self) -> str | None:
        if self._device_id is None:
            # The entry has exactly one device: the gateway.
            devices = dr.async_entries_for_config_entry(
                dr.async_get(self._hass), self._entry.entry_id
            )
            self._device_id = devices[0].id if devices else None
        return self._device_id

    @callback
    def _schedule_save(self) -> None:
        self._saver.schedule()

    def _storage_data(self) -> dict[str, Any]:
        return self.inbox.ledger.as_dict()


def _now() -> float:
    return dt_util.utcnow().timestamp()
