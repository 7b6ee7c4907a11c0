"""What a WAHA bridge can do, by engine, release and edition (no Home Assistant import).

The bridge tells its engine, version and edition (`tier`) in `GET /api/server/version`; the
session tells its own engine and, on NOWEB, whether its store keeps history. What the
release number promises is refined by what the bridge answers: a route that turns out to be
missing, or an engine that does not implement a call, switches the feature off.
Facts read from WAHA's source: new message ids and a pre-generated
`id` in `sendText` from 2026.4.3 on GOWS and NOWEB only; more than one session in Core from
2026.6.1; files (images, voice, video, documents) only in Plus; passkeys with GOWS 2026.7.1.

Talking back (2026.2.1, `api/chatting.controller.ts`, `core/engines/*/session.*.core.ts`),
the same in Core and Plus, on GOWS, NOWEB and WEBJS alike: `PUT /api/reaction`,
`POST /api/sendPoll`, `POST /api/sendSeen`, `POST /api/startTyping`/`stopTyping` and
`reply_to` on `sendText`/`sendPoll` are implemented by all three engines (an engine without
one answers 501 `NotImplementedByEngineError`); only *casting* a poll vote
(`sendPollVote`) is Plus. Events: `message.reaction` and `poll.vote` on all three engines,
`poll.vote.failed` on GOWS and NOWEB only; reactions and votes never come as
`message`/`message.any` (GOWS and NOWEB filter them out, WEBJS has its own event).
NOWEB quotes a `reply_to` only when it still holds the quoted message (its in-memory store
even when the store option is off), else it sends without the quote.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
import re
from typing import Any

ENGINE_GOWS = "GOWS"
ENGINE_NOWEB = "NOWEB"
ENGINE_WEBJS = "WEBJS"
EDITION_CORE = "CORE"
EDITION_PLUS = "PLUS"

type Release = tuple[int, int, int]

NEW_MESSAGE_IDS_SINCE: Release = (2026, 4, 3)
MULTI_SESSION_CORE_SINCE: Release = (2026, 6, 1)
PASSKEYS_SINCE: Release = (2026, 7, 1)
KNOWN_ENGINES = frozenset({"GOWS", "NOWEB", "WEBJS"})
# Features the bridge may refuse (501 from the engine, 404 route missing): names used in
# `features_refused` and `as_dict()["features"]`.
FEATURE_REACTIONS = "reactions"
FEATURE_POLLS = "polls"
FEATURE_POLL_VOTES = "poll_votes"
FEATURE_TYPING = "typing"
FEATURE_MARK_READ = "mark_read"
FEATURE_REPLIES = "replies"
# Sending files: Plus only; a 422 "available only in Plus" switches it off.
FEATURE_MEDIA = "media"
TALK_FEATURES = (
    FEATURE_REACTIONS,
    FEATURE_POLLS,
    FEATURE_POLL_VOTES,
    FEATURE_TYPING,
    FEATURE_MARK_READ,
    FEATURE_REPLIES,
)
# Engines that emit `poll.vote.failed` (WEBJS emits `poll.vote` only).
POLL_VOTE_FAILED_ENGINES = frozenset({"GOWS", "NOWEB"})
# Engines whose own messages carry the chat in `from` (and `to: null` in direct chats).
CHAT_IN_FROM_ENGINES = frozenset({ENGINE_GOWS, ENGINE_NOWEB})

_RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_release(version: str | None) -> Release | None:
    """`2026.7.1` (also `2026.7.1-plus`, `v2026.7.1`) as a comparable tuple; None if unreadable."""
    if not version:
        return None
    match = _RELEASE.search(version)
    if match is None:
        return None
    year, month, patch = (int(part) for part in match.groups())
    return (year, month, patch)


@dataclass(frozen=True, slots=True)
class BridgeCapabilities:
    """One bridge session's engine, release, edition and what follows from them.

    `None` means not known yet (the bridge was not asked, or did not say).
    """

    engine: str | None = None
    version: str | None = None
    edition: str | None = None
    noweb_store: bool | None = None
    new_message_ids_answered: bool | None = None
    """What the bridge showed: False after a 404 route or a 501 engine answer."""
    features_refused: frozenset[str] = frozenset()
    """Talk features the bridge refused (501 from the engine, or the route missing)."""

    @property
    def release(self) -> Release | None:
        """The release as a tuple (2026, 7, 1)."""
        return parse_release(self.version)

    def _since(self, release: Release) -> bool | None:
        current = self.release
        return None if current is None else current >= release

    @property
    def new_message_ids(self) -> bool:
        """Whether a pre-generated id is honoured by `sendText` (at most once by id).

        Unknown releases are assumed to, until the bridge's answer says otherwise.
        """
        if self.new_message_ids_answered is False or self.engine == ENGINE_WEBJS:
            return False
        return self._since(NEW_MESSAGE_IDS_SINCE) is not False

    @property
    def history(self) -> bool:
        """Whether the bridge keeps chat history (the backfill needs it)."""
        return not (self.engine == ENGINE_NOWEB and self.noweb_store is False)

    @property
    def multi_session(self) -> bool:
        """Whether sessions other than `default` are allowed."""
        if self.edition == EDITION_PLUS:
            return True
        return self._since(MULTI_SESSION_CORE_SINCE) is not False

    @property
    def media_sending(self) -> bool | None:
        """Whether files can be sent (Plus only); None when the edition is unknown."""
        if FEATURE_MEDIA in self.features_refused:
            return False
        if self.edition is None:
            return None
        return self.edition == EDITION_PLUS

    @property
    def passkeys(self) -> bool:
        """Whether the session may ask for a passkey (GOWS from 2026.7.1)."""
        return self.engine == ENGINE_GOWS and self._since(PASSKEYS_SINCE) is True

    @property
    def own_chat_in_from(self) -> bool | None:
        """Whether own messages carry the chat in `from` (GOWS, NOWEB); None when unknown."""
        if self.engine is None:
            return None
        return self.engine in CHAT_IN_FROM_ENGINES

    def _talk(self, feature: str) -> bool | None:
        """Every known engine does it (in Core too) unless the bridge refused it."""
        if feature in self.features_refused:
            return False
        if self.engine is None or self.engine not in KNOWN_ENGINES:
            return None
        return True

    @property
    def reactions(self) -> bool | None:
        """Whether `PUT /api/reaction` works (all engines, Core included)."""
        return self._talk(FEATURE_REACTIONS)

    @property
    def polls(self) -> bool | None:
        """Whether `POST /api/sendPoll` works (all engines, Core included)."""
        return self._talk(FEATURE_POLLS)

    @property
    def poll_votes(self) -> bool | None:
        """Whether votes on our polls arrive as `poll.vote` events (all engines)."""
        if self.polls is False:
            return False
        return self._talk(FEATURE_POLL_VOTES)

    @property
    def typing(self) -> bool | None:
        """Whether `startTyping`/`stopTyping` work (all engines)."""
        return self._talk(FEATURE_TYPING)

    @property
    def mark_read(self) -> bool | None:
        """Whether `POST /api/sendSeen` works (all engines)."""
        return self._talk(FEATURE_MARK_READ)

    @property
    def replies(self) -> bool | None:
        """Whether `reply_to` quotes the message (all engines; NOWEB if it holds it)."""
        return self._talk(FEATURE_REPLIES)

    def refusing(self, feature: str) -> BridgeCapabilities:
        """The same, with one talk feature switched off by the bridge's answer."""
        if feature in self.features_refused:
            return self
        return replace(self, features_refused=self.features_refused | {feature})

    def with_engine(self, engine: str | None) -> BridgeCapabilities:
        """The session's own engine wins over the bridge's default one."""
        return self if not engine else replace(self, engine=engine.upper())

    def as_dict(self) -> dict[str, Any]:
        """Everything known and derived, for diagnostics and system health."""
        known = asdict(self)
        known["features_refused"] = sorted(self.features_refused)
        release = self.release
        return known | {
            "release": None if release is None else ".".join(map(str, release)),
            "features": {
                "history": self.history,
                "new_message_ids": self.new_message_ids,
                "media_sending": self.media_sending,
                "multi_session": self.multi_session,
                "passkeys": self.passkeys,
                "reactions": self.reactions,
                "polls": self.polls,
                "poll_votes": self.poll_votes,
                "typing": self.typing,
                "mark_read": self.mark_read,
                "replies": self.replies,
            },
        }
