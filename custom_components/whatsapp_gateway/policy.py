"""Who may talk to the home: the sender allowlist, the group policy and the self chat.

Pure logic: no Home Assistant, no I/O. The entry's options are read once (changing them
reloads the entry).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_GROUP_POLICY,
    CONF_SELF_CHAT,
    DEFAULT_OPTIONS,
    GROUP_POLICIES,
    GROUP_POLICY_ALL,
    GROUP_POLICY_ALLOWLIST,
    GROUP_POLICY_NONE,
)
from .targets import InvalidTargetError, normalize_target


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """Decides which messages fire events and reach the agent."""

    allowed_senders: frozenset[str] = frozenset()
    """Chat ids (`...@c.us`, `...@lid`); empty = everyone."""
    group_policy: str = GROUP_POLICY_ALL
    allowed_groups: frozenset[str] = frozenset()
    self_chat: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SenderPolicy:
        """Read the entry options; unreadable entries are left out (the flow validates)."""

        def chat_ids(key: str) -> frozenset[str]:
            return frozenset(_chat_ids(options.get(key, DEFAULT_OPTIONS[key]) or ()))

        group_policy = options.get(CONF_GROUP_POLICY, DEFAULT_OPTIONS[CONF_GROUP_POLICY])
        return cls(
            allowed_senders=chat_ids(CONF_ALLOWED_SENDERS),
            group_policy=group_policy if group_policy in GROUP_POLICIES else GROUP_POLICY_ALL,
            allowed_groups=chat_ids(CONF_ALLOWED_GROUPS),
            self_chat=options.get(CONF_SELF_CHAT, DEFAULT_OPTIONS[CONF_SELF_CHAT]) is True,
        )

    def allows(self, *, chat_id: str, senders: Iterable[str], from_me: bool) -> bool:
        """Whether a message (or reaction, or vote) in `chat_id` counts.

        `senders` are the forms of the sender's id that are known (the `@lid` and the number
        it resolves to). Your own messages count only in your self chat (the caller tells
        which chats are yours) when `self_chat` is on; the allowlist does not apply to you.
        In a group, the group must pass the group policy and the sender the allowlist.
        """
        if from_me:
            return self.self_chat
        if chat_id.endswith("@g.us"):
            if self.group_policy == GROUP_POLICY_NONE:
                return False
            if self.group_policy == GROUP_POLICY_ALLOWLIST and chat_id not in self.allowed_groups:
                return False
        if not self.allowed_senders:
            return True
        return any(sender in self.allowed_senders for sender in senders)


def _chat_ids(values: Iterable[object]) -> Iterable[str]:
    for value in values:
        if not isinstance(value, str):
            continue
        try:
            yield normalize_target(value)
        except InvalidTargetError:
            continue
