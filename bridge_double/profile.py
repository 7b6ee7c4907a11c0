"""Bridge profiles: which WAHA the double plays (engine x release x edition x NOWEB store).

This module is the one place that decides what differs between profiles; the server and
the REST handlers ask a :class:`BridgeProfile` instead of comparing engines or releases.
Every rule cites what it models (``docs/waha-reality.md`` and WAHA's own source,
``src/...`` paths of release 2026.2.1 unless another release is named).

What is known from the source or the changelog, and what is assumed:

- 2026.4.3 brought ``GET /api/{s}/new-message-id``, the ``id`` of ``sendText`` (GOWS and
  NOWEB) and the ``?x-api-key=`` query parameter (changelog).
- 2026.6.1 brought more than one session to Core (changelog); from then on Core is
  assumed to keep session configs over a restart, as Plus does (2026.2.1 Core holds the
  config of ``default`` in memory only, ``core/manager.core.ts``).
- 2026.7.1 brought the PASSKEY_* statuses with GOWS (changelog). The ``data`` of a
  ``session.status`` payload, and ``metadata: {}`` in envelopes of sessions without
  metadata, are assumed to come with it too: 2026.2.1 has neither
  (``core/abc/session.abc.ts``, ``core/abc/manager.abc.ts``), the 2026.7.1 OpenAPI file
  has both, and nothing tells which release in between changed it.
- Talking back (``api/chatting.controller.ts``, ``core/engines/*/session.*.core.ts``):
  ``PUT /api/reaction``, ``POST /api/sendPoll``, ``sendSeen``, ``startTyping``/``stopTyping``
  and ``reply_to`` work on all three engines in Core and Plus (casting a poll vote is Plus);
  these routes have no validation pipe, so a malformed body fails inside the engine (500).
  ``message.reaction`` and ``poll.vote`` come from every engine, ``poll.vote.failed`` from
  GOWS and NOWEB only; ``replyTo.id`` is the bare id everywhere. The ``id`` of ``sendPoll``
  (in the 2026.7.1 OpenAPI) is assumed honoured like ``sendText``'s. Your own chat ("Message
  yourself") is assumed addressed by your ``@lid`` on GOWS and NOWEB when ``me`` has one
  (WhatsApp's LID addressing; ``MeInfo.lid`` is set by GOWS and NOWEB only), by your number
  on WEBJS.
- Assumed alike in every edition and release: a graceful restart leaves sessions STOPPED
  unless ``WHATSAPP_START_SESSION`` names them (read for Core 2026.2.1 only); WEBJS names
  Chromium as its browser in Core and Chrome in Plus (``getBrowserExecutablePath`` picks
  whichever the image has).
"""

from __future__ import annotations

from dataclasses import dataclass
import re
import secrets
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

type JsonDict = dict[str, Any]

ENGINES: Final = ("GOWS", "NOWEB", "WEBJS")
EDITIONS: Final = ("CORE", "PLUS")
RELEASES: Final = ("2026.2.1", "2026.5.1", "2026.7.1")
"""The releases the profiles were made for; any ``YYYY.M.B`` parses."""
DEFAULT_SESSION: Final = "default"
DOCS_URL: Final = "https://waha.devlike.pro/"
NO_STORE: Final = "nostore"

NEW_MESSAGE_ID_ROUTE: Final = (2026, 4, 3)
SEND_ID: Final = (2026, 4, 3)
QUERY_API_KEY: Final = (2026, 4, 3)
CORE_MULTI_SESSION: Final = (2026, 6, 1)
PASSKEYS: Final = (2026, 7, 1)
STATUS_DATA: Final = (2026, 7, 1)

WEAK_KEYS: Final = frozenset(
    {
        "",
        "123",
        "321",
        "waha",
        "admin",
        "0" * 32,
        "1" * 32,
        "sha512:98b6d128682e280b74b324ca82a6bae6e8a3f7174e0605bfd52eb9948fad8984854ec08f7"
        "652f32055c4a9f12b69add4850481d9503a7f2225501671d6124648",
    }
)
"""``core/auth/config.ts``: a WAHA_API_KEY that WAHA replaces with a random one at each start."""

_RELEASE = re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,3})$")
_CHROME: Final = "/usr/bin/google-chrome-stable"
_CHROMIUM: Final = "/usr/bin/chromium"


def release_tuple(release: str) -> tuple[int, int, int]:
    """``"2026.5.1"`` -> ``(2026, 5, 1)``; ValueError for anything else."""
    match = _RELEASE.match(release)
    if match is None:
        raise ValueError(f"a release looks like 2026.5.1, got {release!r}")
    year, month, build = (int(part) for part in match.groups())
    return year, month, build


def is_weak_key(key: str | None) -> bool:
    """Whether WAHA would replace ``key`` (unset, empty or well known) with a random one."""
    return key is None or key in WEAK_KEYS


def random_key() -> str:
    """A key as WAHA generates it: a UUID4 without dashes (``core/auth/config.ts`` ``rand``)."""
    return secrets.token_hex(16)


def _is_group(chat_id: str) -> bool:
    return chat_id.endswith(("@g.us", "@broadcast"))


def to_jid(chat_id: str) -> str:
    """``491...@c.us`` -> ``491...@s.whatsapp.net`` (the engines' own form); others unchanged."""
    if chat_id.endswith("@c.us"):
        return chat_id.removesuffix("@c.us") + "@s.whatsapp.net"
    return chat_id


@dataclass(frozen=True, slots=True)
class Addressing:
    """``from`` / ``to`` / ``participant`` of a WAMessage; ``None`` fields are *absent*.

    ``absent`` lists the keys the engine leaves out of the JSON (NOWEB and WEBJS set them
    to ``undefined``, which ``JSON.stringify`` drops); the others are null when None.
    """

    sender: str
    to: str | None
    participant: str | None
    absent: frozenset[str] = frozenset()
    id_participant: str | None = None
    """The participant appended to the serialized message id (groups), if any."""


@dataclass(frozen=True, slots=True)
class BridgeProfile:
    """A WAHA bridge: ``engine`` x ``release`` x ``edition``, and whether NOWEB sessions
    added without a config keep a store (``noweb_store``; meaningless on other engines).

    ``BridgeProfile.parse("NOWEB-2026.5.1-CORE-nostore")`` and ``str(profile)`` use the
    same form; the default is GOWS 2026.7.1 Core (``GOWS-2026.7.1-CORE``).
    """

    engine: str = "GOWS"
    release: str = "2026.7.1"
    edition: str = "CORE"
    noweb_store: bool = True

    def __post_init__(self) -> None:
        engine, edition = self.engine.upper(), self.edition.upper()
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if edition not in EDITIONS:
            raise ValueError(f"edition must be CORE or PLUS, got {self.edition!r}")
        release_tuple(self.release)
        object.__setattr__(self, "engine", engine)
        object.__setattr__(self, "edition", edition)

    @classmethod
    def parse(cls, text: str) -> BridgeProfile:
        """``ENGINE-RELEASE-EDITION[-nostore]``, e.g. ``NOWEB-2026.5.1-CORE-nostore``."""
        parts = text.strip().split("-")
        store = True
        if len(parts) == 4 and parts[3].lower() in {NO_STORE, "store"}:
            store = parts.pop().lower() != NO_STORE
        if len(parts) != 3:
            raise ValueError(
                f"a profile looks like GOWS-2026.7.1-CORE or NOWEB-2026.5.1-PLUS-nostore, "
                f"got {text!r}"
            )
        engine, release, edition = parts
        return cls(engine=engine, release=release, edition=edition, noweb_store=store)

    def __str__(self) -> str:
        text = f"{self.engine}-{self.release}-{self.edition}"
        return text if self.noweb_store else f"{text}-{NO_STORE}"

    # ------------------------------------------------------------------ releases

    @property
    def release_tuple(self) -> tuple[int, int, int]:
        """The release as a comparable tuple."""
        return release_tuple(self.release)

    def at_least(self, release: str | tuple[int, int, int]) -> bool:
        """Whether the profile's release is ``release`` or newer."""
        wanted = release_tuple(release) if isinstance(release, str) else release
        return self.release_tuple >= wanted

    @property
    def plus(self) -> bool:
        """Whether this is WAHA Plus."""
        return self.edition == "PLUS"

    # ------------------------------------------------------------ REST surface

    @property
    def has_new_message_id_route(self) -> bool:
        """``GET /api/{s}/new-message-id`` exists (2026.4.3); before: 404 Cannot GET."""
        return self.at_least(NEW_MESSAGE_ID_ROUTE)

    @property
    def new_message_id_supported(self) -> bool:
        """The engine generates message ids; WEBJS answers 501 (``session.abc.ts``)."""
        return self.engine != "WEBJS"

    @property
    def honours_send_id(self) -> bool:
        """``sendText`` uses a given ``id``: GOWS and NOWEB from 2026.4.3; else ignored."""
        return self.at_least(SEND_ID) and self.engine in {"GOWS", "NOWEB"}

    @property
    def query_api_key(self) -> bool:
        """The REST ``?x-api-key=`` query parameter works (2026.4.3); the header always."""
        return self.at_least(QUERY_API_KEY)

    @property
    def multi_session(self) -> bool:
        """Sessions other than ``default``: Plus, and Core from 2026.6.1."""
        return self.plus or self.at_least(CORE_MULTI_SESSION)

    def session_name_allowed(self, name: str) -> bool:
        """Whether ``name`` is not refused with OnlyDefaultSessionIsAllowed (422)."""
        return self.multi_session or name == DEFAULT_SESSION

    @property
    def default_always_exists(self) -> bool:
        """Single-session Core: ``default`` exists (STOPPED) from boot until deleted."""
        return not self.multi_session

    @property
    def keeps_session_config_on_restart(self) -> bool:
        """Session configs survive a bridge restart (2026.2.1 Core keeps them in memory)."""
        return self.multi_session

    @property
    def passkey_statuses(self) -> bool:
        """PASSKEY_REQUIRED / PASSKEY_CONFIRMATION_REQUIRED exist: GOWS from 2026.7.1."""
        return self.engine == "GOWS" and self.at_least(PASSKEYS)

    @property
    def has_passkey_routes(self) -> bool:
        """The ``auth/passkey`` endpoints exist (2026.7.1, every engine)."""
        return self.at_least(PASSKEYS)

    @property
    def media_sending(self) -> bool:
        """``sendImage`` / ``sendFile`` / ``sendVoice`` / ``sendVideo`` work: Plus only."""
        return self.plus

    @property
    def core_video_not_implemented(self) -> bool:
        """Core's engines do not override ``sendVideo``: 501, not AvailableInPlusVersion."""
        return not self.plus

    @property
    def status_payload_has_data(self) -> bool:
        """``session.status`` payloads carry ``data`` (assumed from 2026.7.1; not 2026.2.1)."""
        return self.at_least(STATUS_DATA)

    @property
    def envelope_keeps_empty_metadata(self) -> bool:
        """Envelopes say ``metadata: {}`` without metadata (assumed 2026.7.1; 2026.2.1 omits)."""
        return self.at_least(STATUS_DATA)

    @property
    def keeps_me_after_phone_logout(self) -> bool:
        """GOWS: FAILED after a logout from the phone still reports ``me``."""
        return self.engine == "GOWS"

    @property
    def starting_after_qr_scan(self) -> bool:
        """NOWEB: SCAN_QR_CODE -> STARTING -> WORKING after a scan (others: WORKING at once)."""
        return self.engine == "NOWEB"

    @property
    def refuses_request_code_method(self) -> bool:
        """NOWEB refuses any ``method`` of ``auth/request-code`` (GOWS ignores it)."""
        return self.engine == "NOWEB"

    def already_started_name(self, name: str) -> str:
        """The name in "Session '...' is already started.": Core 2026.2.1 says ``default``."""
        return name if self.multi_session else DEFAULT_SESSION

    # ---------------------------------------------------------------- NOWEB store

    def default_session_config(self) -> JsonDict:
        """The config of a session added by the test API without one."""
        if self.engine != "NOWEB":
            return {}
        return {"noweb": {"store": {"enabled": self.noweb_store, "fullSync": False}}}

    def history_available(self, config: Mapping[str, Any] | None) -> bool:
        """Chats, messages and LIDs answer: NOWEB only with ``config.noweb.store.enabled``."""
        if self.engine != "NOWEB":
            return True
        noweb = (config or {}).get("noweb")
        store = noweb.get("store") if isinstance(noweb, dict) else None
        return isinstance(store, dict) and bool(store.get("enabled"))

    # ------------------------------------------------------------- environment

    def environment(self) -> JsonDict:
        """WAHAEnvironment (``src/version.ts``): the version answer, envelopes' ``environment``."""
        browser = None
        if self.engine == "WEBJS":
            browser = _CHROME if self.plus else _CHROMIUM
        return {
            "version": self.release,
            "engine": self.engine,
            "tier": self.edition,
            "browser": browser,
            "platform": "linux/x64",
            "worker": {"id": None},
        }

    # ------------------------------------------------------------------ messages

    def new_message_key(self) -> str:
        """A bare message id as the engine makes one.

        GOWS (whatsmeow): ``3EB0`` + 16 hex digits; NOWEB (Baileys V2) and WEBJS: ``3EB0`` +
        18 hex digits.
        """
        digits = 16 if self.engine == "GOWS" else 18
        return "3EB0" + secrets.token_hex(10).upper()[:digits]

    def message_addressing(
        self,
        *,
        chat_id: str,
        me_id: str,
        from_me: bool,
        participant: str | None = None,
        via_api: bool = False,
    ) -> Addressing:
        """How the engine addresses a message in ``chat_id`` (events, history, overview).

        ``participant`` is the sender in a group (ignored for own messages: that is you).
        GOWS (``getFromToParticipant``): ``from`` the chat, ``to`` the sender in a group
        else null. NOWEB (``getFromToParticipant``): ``from`` the chat, ``to`` and
        ``participant`` the group and the sender in a group, else absent; a message sent
        through the API has no participant in its key, so none in a group either. WEBJS
        (whatsapp-web.js): ``from`` the author's side, ``to`` the other one; ``participant``
        from the serialized id, absent outside groups.
        """
        group = _is_group(chat_id)
        sender = me_id if from_me else participant
        if self.engine == "GOWS":
            member = sender if group else None
            return Addressing(chat_id, member, member, id_participant=member)
        if self.engine == "NOWEB":
            if not group or (from_me and via_api):
                return Addressing(chat_id, None, None, frozenset({"to", "participant"}))
            return Addressing(chat_id, chat_id, sender, id_participant=sender)
        member = sender if group else None
        absent = frozenset() if group else frozenset({"participant"})
        if from_me:
            return Addressing(me_id, chat_id, member, absent, id_participant=member)
        return Addressing(chat_id, me_id, member, absent, id_participant=member)

    def own_message_addressing(
        self, *, chat_id: str, me_id: str, via_api: bool = False
    ) -> Addressing:
        """:meth:`message_addressing` of a message you wrote (from the phone, or the API)."""
        return self.message_addressing(chat_id=chat_id, me_id=me_id, from_me=True, via_api=via_api)

    @staticmethod
    def message_id(chat_id: str, key: str, *, from_me: bool, participant: str | None) -> str:
        """The serialized id (``buildMessageId``): ``<fromMe>_<chat>_<KEY>[_<participant>]``."""
        serialized = f"{'true' if from_me else 'false'}_{chat_id}_{key}"
        return f"{serialized}_{participant}" if participant else serialized

    def send_answer(
        self,
        *,
        chat_id: str,
        key: str,
        me_id: str,
        message_id: str,
        content: JsonDict,
        body: str,
        timestamp: int,
        kind: str = "text",
        location: JsonDict | None = None,
    ) -> JsonDict:
        """What ``sendText`` (and ``sendLocation``, Plus' media sends) answer, per engine.

        GOWS (``messageResponse``): ``{"id": <serialized>, "_data": <the proto message>}``.
        NOWEB: Baileys' WebMessageInfo (bare id in ``key.id``, JIDs in ``@s.whatsapp.net``
        form). WEBJS: whatsapp-web.js' Message (id in ``id._serialized``).
        """
        if self.engine == "GOWS":
            return {"id": message_id, "_data": content}
        if self.engine == "NOWEB":
            answer: JsonDict = {
                "key": {"remoteJid": to_jid(chat_id), "fromMe": True, "id": key},
                "message": content,
                "messageTimestamp": str(timestamp),
                "status": "PENDING",
            }
            if _is_group(chat_id):
                answer["participant"] = to_jid(me_id)
            return answer
        serial: JsonDict = {"fromMe": True, "remote": chat_id, "id": key, "_serialized": message_id}
        if _is_group(chat_id):
            serial["participant"] = me_id
        webjs_type = WEBJS_TYPES.get(kind, "chat")
        answer = {
            "_data": {"id": serial, "body": body, "type": webjs_type, "t": timestamp},
            "id": serial,
            "ack": 0,
            "hasMedia": kind in WEBJS_MEDIA_KINDS,
            "body": body,
            "type": webjs_type,
            "timestamp": timestamp,
            "from": me_id,
            "to": chat_id,
            "deviceType": "web",
            "isForwarded": False,
            "forwardingScore": 0,
            "isStatus": False,
            "isStarred": False,
            "fromMe": True,
            "hasQuotedMsg": False,
            "hasReaction": False,
            "vCards": [],
            "mentionedIds": [],
            "groupMentions": [],
            "isGif": False,
            "links": [],
        }
        if location is not None:
            answer["location"] = location
        return answer

    # ------------------------------------------------------------- talking back

    @property
    def emits_poll_vote_failed(self) -> bool:
        """``poll.vote.failed``: GOWS (undecryptable vote) and NOWEB (poll not found)."""
        return self.engine in {"GOWS", "NOWEB"}

    @property
    def has_me_lid(self) -> bool:
        """``MeInfo.lid``: GOWS and NOWEB report it (``getSessionMeInfo``), WEBJS does not."""
        return self.engine in {"GOWS", "NOWEB"}

    def self_chat_id(self, me: Mapping[str, Any]) -> str:
        """The chat id of your own chat: your ``@lid`` on GOWS/NOWEB when known, else your id."""
        lid = me.get("lid")
        if self.has_me_lid and isinstance(lid, str) and lid:
            return lid
        return str(me["id"])

    def read_all_answer(self, ids: list[str]) -> JsonDict:
        """``sendSeen`` without ids reads the chat: GOWS/NOWEB ``{ids}``, WEBJS ``{ids: null}``."""
        return {"ids": None if self.engine == "WEBJS" else ids}

    def poll_content(self, name: str, options: list[str], multiple: bool) -> JsonDict:
        """The proto poll message (NOWEB: ``selectableCount`` = all options when multiple)."""
        count = len(options) if multiple else 1
        return {
            "pollCreationMessage": {
                "name": name,
                "options": [{"optionName": option} for option in options],
                "selectableOptionsCount": count,
            }
        }

    def poll_answer(self, answer: JsonDict, message: JsonDict) -> JsonDict:
        """What ``sendPoll`` answers: GOWS ``{id, _data}``, NOWEB the WAMessage of the poll
        (``toWAMessage``, raw message in ``_data``), WEBJS the whatsapp-web.js message."""
        if self.engine == "NOWEB":
            return dict(message, _data=answer)
        if self.engine == "WEBJS":
            answer = dict(answer, type="poll_creation", body="")
            answer["_data"] = dict(answer["_data"], type="poll_creation", body="")
        return answer

    def reaction_answer(
        self, *, chat_id: str, key: str, me_id: str, target: JsonDict, text: str, timestamp: int
    ) -> JsonDict | None:
        """What ``PUT /api/reaction`` answers (200): GOWS ``messageResponse`` of the reaction,
        NOWEB Baileys' raw message, WEBJS nothing (``message.react`` returns undefined)."""
        content = {"reactionMessage": {"key": target, "text": text}}
        if self.engine == "GOWS":
            member = me_id if _is_group(chat_id) else None
            return {
                "id": self.message_id(chat_id, key, from_me=True, participant=member),
                "_data": content,
            }
        if self.engine == "NOWEB":
            return {
                "key": {"remoteJid": to_jid(chat_id), "fromMe": True, "id": key},
                "message": content,
                "messageTimestamp": str(timestamp),
                "status": "PENDING",
            }
        return None

    def reaction_event(
        self,
        *,
        chat_id: str,
        key: str,
        reactor: str,
        from_me: bool,
        message_id: str,
        text: str,
        timestamp: int,
    ) -> JsonDict:
        """A ``message.reaction`` payload (``WAMessageReaction``) by ``reactor``.

        GOWS/NOWEB (``processMessageReaction``) address it like a message: ``from`` the chat,
        ``to``/``participant`` the reactor in a group (NOWEB: ``to`` the group, absent in
        a direct chat). WEBJS: ``from`` the reactor, ``to`` the chat, ``participant`` the
        reactor (``senderId``) everywhere. ``messageId`` is the reacted message's id.
        """
        group = _is_group(chat_id)
        member = reactor if group else None
        payload: JsonDict = {
            "id": self.message_id(chat_id, key, from_me=from_me, participant=member),
            "timestamp": timestamp,
            "from": chat_id,
            "fromMe": from_me,
            "source": "app",
            "to": member,
            "participant": member,
            "reaction": {"text": text, "messageId": message_id},
        }
        if self.engine == "NOWEB":
            payload["to"] = chat_id if group else None
            if not group:
                del payload["to"], payload["participant"]
        elif self.engine == "WEBJS":
            payload.update({"from": reactor, "to": chat_id, "participant": reactor})
        return payload

    def poll_vote_event(
        self,
        *,
        chat_id: str,
        poll_id: str,
        vote_key: str,
        voter: str,
        me_id: str,
        options: list[str] | None,
        timestamp_s: int,
    ) -> JsonDict:
        """A ``poll.vote`` payload (``PollVotePayload``) of ``voter`` on our poll ``poll_id``.

        ``options`` None makes the ``poll.vote.failed`` one (GOWS ``selectedOptions: null``,
        NOWEB ``[]``). GOWS (``toPollVotePayload``): the vote addressed like a message,
        ``timestamp`` in ms, the poll via ``getDestination`` without me (``from: "me"`` in a
        direct chat). NOWEB: both via ``getDestination`` without me (``to: "me"`` for a vote
        in a direct chat), ms (failed: the message's seconds). WEBJS: ``getDestination`` with
        me; the vote's id reuses the poll's key (``voteKey.id = pollKey.id``).
        """
        group = _is_group(chat_id)
        member = voter if group else None
        poll_key = poll_id.split("_")[2]
        poll: JsonDict = {
            "id": poll_id,
            "to": chat_id,
            "from": (me_id if self.engine == "WEBJS" else "me") if not group else me_id,
            "fromMe": True,
        }
        if self.engine == "NOWEB" and group:
            poll["from"] = "me"  # an API-sent poll has no participant in its key
        key = poll_key if self.engine == "WEBJS" else vote_key
        vote: JsonDict = {
            "id": self.message_id(chat_id, key, from_me=False, participant=member),
            "from": chat_id,
            "fromMe": False,
            "to": member,
            "participant": member,
            "selectedOptions": options,
            "timestamp": timestamp_s * 1000 + 123,
        }
        if self.engine != "GOWS":
            del vote["participant"]
            vote["from"] = voter if group else chat_id
            vote["to"] = chat_id if group else (me_id if self.engine == "WEBJS" else "me")
        if self.engine == "NOWEB" and options is None:
            vote.update(selectedOptions=[], timestamp=timestamp_s)
        return {"vote": vote, "poll": poll, "_data": {}}

    # ------------------------------------------------------------------ media

    def media_file_key(self, message_id: str) -> str:
        """The name (without extension) WAHA stores a message's file under.

        ``MediaManager`` names it by ``processor.getMessageId``: GOWS ``Info.ID`` and NOWEB
        ``key.id`` (the bare id), WEBJS ``id._serialized`` (the serialized id).
        """
        if self.engine == "WEBJS":
            return message_id
        parts = message_id.split("_")
        return parts[2] if len(parts) >= 3 else message_id

    def received_media(
        self,
        *,
        url: str | None,
        mimetype: str,
        filename: str | None,
        kind: str,
        error: JsonDict | None = None,
    ) -> JsonDict:
        """``media`` of a message once the bridge downloaded (or failed to download) its file.

        ``filename`` as the engine's processor reads it: GOWS ``content.fileName`` (only
        documents have one; undefined, so absent, otherwise), NOWEB
        ``documentMessage.fileName || null``, WEBJS ``rawData.filename || null``. No
        ``error`` key unless the download failed (then ``url`` null).
        """
        name = filename if (kind == "document" or self.engine == "WEBJS") else None
        media: JsonDict = {"url": url, "filename": name, "mimetype": mimetype}
        if self.engine == "GOWS" and name is None:
            del media["filename"]
        if error is not None:
            media["url"] = None
            media["error"] = error
        return media

    def media_body(self, caption: str | None) -> str | None:
        """``body`` of a file (or location) message without text: the caption if any.

        ``extractBody`` (``session.noweb.core.ts``, GOWS too) falls back to the caption;
        without one GOWS leaves ``body`` undefined (absent, see :attr:`omits_missing_body`),
        NOWEB says ``body || null``; whatsapp-web.js sets ``data.caption || ''``.
        """
        if caption:
            return caption
        return "" if self.engine == "WEBJS" else None

    @property
    def omits_missing_body(self) -> bool:
        """GOWS' ``toWAMessage`` passes an undefined body through: the key is absent."""
        return self.engine == "GOWS"

    def location(
        self,
        *,
        latitude: float,
        longitude: float,
        name: str | None = None,
        address: str | None = None,
        thumbnail: str | None = None,
    ) -> JsonDict:
        """``location`` (WALocation) of a location message.

        GOWS and NOWEB (``extractWALocation``, ``core/engines/waproto/locaiton.ts``): the
        coordinates as strings (``degreesLatitude?.toString()``), ``live: false``, the
        proto's name/address/url/comment/thumbnail where set. WEBJS (``extractLocation``):
        whatsapp-web.js' numbers, ``description`` = name and address on two lines,
        ``thumbnail`` = the message body (the base64 JPEG preview).
        """
        if self.engine == "WEBJS":
            location: JsonDict = {
                "live": False,
                "latitude": latitude,
                "longitude": longitude,
                "name": name,
                "address": address,
                "description": "\n".join(part for part in (name, address) if part),
                "thumbnail": thumbnail or "",
            }
        else:
            location = {
                "live": False,
                "latitude": js_number(latitude),
                "longitude": js_number(longitude),
                "name": name,
                "address": address,
                "thumbnail": thumbnail,
            }
        return {key: value for key, value in location.items() if value is not None}

    def location_body(self, thumbnail: str | None) -> str | None:
        """``body`` of a location message: GOWS absent, NOWEB null, WEBJS the thumbnail."""
        return (thumbnail or "") if self.engine == "WEBJS" else None

    def message_data(
        self,
        *,
        chat_id: str,
        key: str,
        from_me: bool,
        content: JsonDict,
        webjs_type: str,
        extra: JsonDict | None = None,
    ) -> JsonDict:
        """``_data`` of a file or location message: the engine's raw message, abridged.

        GOWS: the whatsmeow event (``Info`` with ``Type``/``MediaType``, ``Message``);
        NOWEB: Baileys' WebMessageInfo (``key``, ``message``); WEBJS: whatsapp-web.js'
        ``rawData`` (``type`` ``image``/``video``/``audio``/``ptt``/``document``/``location``).
        """
        if self.engine == "GOWS":
            media_type = "ptt" if webjs_type == "ptt" else webjs_type
            info = {
                "Chat": to_jid(chat_id),
                "ID": key,
                "IsFromMe": from_me,
                "IsGroup": _is_group(chat_id),
                "Type": "media",
                "MediaType": media_type,
            }
            return {"Info": info, "Message": content}
        if self.engine == "NOWEB":
            return {
                "key": {"remoteJid": to_jid(chat_id), "fromMe": from_me, "id": key},
                "message": content,
            }
        return {"type": webjs_type, **(extra or {})}

    def text_content(self, text: str) -> JsonDict:
        """The proto message of a text: NOWEB (Baileys) sends an ``extendedTextMessage``."""
        if self.engine == "NOWEB":
            return {"extendedTextMessage": {"text": text}}
        return {"conversation": text}


def js_number(value: float) -> str:
    """A number as JavaScript's ``toString`` writes it (``13`` not ``13.0``)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)


WEBJS_TYPES: Final = {
    "text": "chat",
    "image": "image",
    "file": "document",
    "document": "document",
    "voice": "ptt",
    "audio": "audio",
    "video": "video",
    "location": "location",
}
"""whatsapp-web.js' message ``type`` per kind of message."""
WEBJS_MEDIA_KINDS: Final = frozenset({"image", "file", "document", "voice", "audio", "video"})

DEFAULT_PROFILE: Final = BridgeProfile()
