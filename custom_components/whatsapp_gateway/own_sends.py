"""Messages the gateway itself sent, so they never come back as messages in your self chat.

With `self_chat` on, what you write in your own chat becomes a message event; what the
gateway writes there (a notification to yourself, an agent's answer, a question) must not,
or an agent would answer its own answers. A sent message's id is recorded in the ledger as
handled, live and after restarts. Where the bridge assigns ids only in its answer, the echo
on the stream can overtake that answer: until the answer is in, an own message in that chat
with the text being sent is taken for the echo.

Pure logic: no Home Assistant, no I/O.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable

from .bridge import WaMessage, bare_message_id
from .ledger import MessageLedger

# An expected echo older than this is forgotten (the send failed or its answer got lost).
ECHO_WINDOW = 60.0
MAX_EXPECTED = 100
# WhatsApp ids of recent sends remembered (the echo's id is serialized, the sent one may not).
MAX_KEYS = 1000


class OwnSends:
    """Implements `outgoing.OwnSends` over the inbox's ledger."""

    def __init__(self, ledger: Callable[[], MessageLedger], clock: Callable[[], float]) -> None:
        """`ledger` gives the current ledger (it is replaced when restored)."""
        self._ledger = ledger
        self._clock = clock
        self._expected: deque[tuple[str, str, float]] = deque(maxlen=MAX_EXPECTED)
        self._keys: OrderedDict[str, str] = OrderedDict()

    def sending(self, chat_id: str, text: str, message_id: str | None) -> None:
        """A send is about to go out."""
        if message_id is not None:
            self._remember(message_id)
        else:
            self._expected.append((chat_id, text, self._clock()))

    def sent(self, chat_id: str, message_id: str) -> None:
        """The bridge answered with the id: from now on the ledger knows it."""
        self._ledger().mark_handled(message_id)
        self._remember(message_id)
        for index, (expected_chat, _, _) in enumerate(self._expected):
            if expected_chat == chat_id:
                del self._expected[index]
                break

    def claims(self, message: WaMessage) -> bool:
        """Whether an own message is the echo of one of the gateway's sends."""
        if not message.from_me:
            return False
        if bare_message_id(message.id) in self._keys:
            return True
        oldest = self._clock() - ECHO_WINDOW
        while self._expected and self._expected[0][2] < oldest:
            self._expected.popleft()
        for index, (chat_id, text, _) in enumerate(self._expected):
            if chat_id == message.chat_id and text == (message.body or ""):
                del self._expected[index]
                return True
        return False

    def confirmed(self, message_id: str) -> bool:
        """Whether the bridge answered a send of the gateway with this id (or it was handled).

        Such a message cannot be an earlier try of a message whose answer got lost.
        """
        return self._ledger().seen(message_id)

    def full_id(self, key: str) -> str | None:
        """The id as the bridge serializes it of a recent send with the WhatsApp id `key`."""
        return self._keys.get(key)

    def _remember(self, message_id: str) -> None:
        key = bare_message_id(message_id)
        if key != message_id or key not in self._keys:
            self._keys[key] = message_id
        self._keys.move_to_end(key)
        if len(self._keys) > MAX_KEYS:
            self._keys.popitem(last=False)
