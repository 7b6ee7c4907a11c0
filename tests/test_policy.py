"""The sender policy, the gateway's own sends and the ledger's handled ids (pure logic)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.whatsapp_gateway.bridge import WaMessage
from custom_components.whatsapp_gateway.const import (
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_GROUP_POLICY,
    CONF_SELF_CHAT,
)
from custom_components.whatsapp_gateway.inbox import self_chat_deliverable
from custom_components.whatsapp_gateway.ledger import MessageLedger
from custom_components.whatsapp_gateway.own_sends import ECHO_WINDOW, OwnSends
from custom_components.whatsapp_gateway.policy import SenderPolicy

ALICE = "491511111111@c.us"
BOB = "491522222222@c.us"
BOB_LID = "123456789012345@lid"
FAMILY = "120363025246125486@g.us"
CLUB = "120363099999999999@g.us"

numbers = st.integers(min_value=10**9, max_value=10**13).map(lambda n: f"{n}@c.us")
groups = st.integers(min_value=10**17, max_value=10**18).map(lambda n: f"{n}@g.us")


def policy(**options: object) -> SenderPolicy:
    return SenderPolicy.from_options(options)


def test_defaults_allow_everyone_but_not_your_own_messages() -> None:
    default = policy()
    assert default.allows(chat_id=ALICE, senders=(ALICE,), from_me=False)
    assert default.allows(chat_id=FAMILY, senders=(BOB,), from_me=False)
    assert not default.allows(chat_id=ALICE, senders=(ALICE,), from_me=True)


def test_numbers_are_normalised_and_garbage_is_left_out() -> None:
    read = policy(**{CONF_ALLOWED_SENDERS: ["+49 151 111-1111", BOB_LID, "nonsense", 42]})
    assert read.allowed_senders == {ALICE, BOB_LID}


def test_allowlist_matches_the_resolved_number_of_a_hidden_sender() -> None:
    read = policy(**{CONF_ALLOWED_SENDERS: [BOB]})
    assert read.allows(chat_id=BOB_LID, senders=(BOB_LID, BOB), from_me=False)
    assert not read.allows(chat_id=BOB_LID, senders=(BOB_LID, BOB_LID), from_me=False)
    assert not read.allows(chat_id=ALICE, senders=(ALICE, ALICE), from_me=False)


def test_group_policies() -> None:
    none = policy(**{CONF_GROUP_POLICY: "none"})
    assert not none.allows(chat_id=FAMILY, senders=(ALICE,), from_me=False)
    assert none.allows(chat_id=ALICE, senders=(ALICE,), from_me=False)
    allowlist = policy(**{CONF_GROUP_POLICY: "allowlist", CONF_ALLOWED_GROUPS: [FAMILY]})
    assert allowlist.allows(chat_id=FAMILY, senders=(ALICE,), from_me=False)
    assert not allowlist.allows(chat_id=CLUB, senders=(ALICE,), from_me=False)
    # The senders of an allowed group must still be allowed senders, when those are listed.
    both = policy(
        **{
            CONF_GROUP_POLICY: "allowlist",
            CONF_ALLOWED_GROUPS: [FAMILY],
            CONF_ALLOWED_SENDERS: [ALICE],
        }
    )
    assert both.allows(chat_id=FAMILY, senders=(ALICE,), from_me=False)
    assert not both.allows(chat_id=FAMILY, senders=(BOB,), from_me=False)
    # An unknown policy reads as the default.
    assert policy(**{CONF_GROUP_POLICY: "some"}).group_policy == "all"


def test_self_chat_lets_your_own_messages_through_whatever_the_allowlist() -> None:
    read = policy(**{CONF_SELF_CHAT: True, CONF_ALLOWED_SENDERS: [BOB]})
    assert read.allows(chat_id=ALICE, senders=(ALICE,), from_me=True)


@given(
    allowed=st.sets(numbers, max_size=4),
    group_policy=st.sampled_from(["all", "allowlist", "none"]),
    allowed_groups=st.sets(groups, max_size=3),
    chat=st.one_of(numbers, groups),
    sender=numbers,
)
def test_a_message_passes_only_when_group_and_sender_both_pass(
    allowed: set[str], group_policy: str, allowed_groups: set[str], chat: str, sender: str
) -> None:
    read = policy(
        **{
            CONF_ALLOWED_SENDERS: sorted(allowed),
            CONF_GROUP_POLICY: group_policy,
            CONF_ALLOWED_GROUPS: sorted(allowed_groups),
        }
    )
    is_group = chat.endswith("@g.us")
    sender_id = sender if is_group else chat
    group_ok = (
        not is_group
        or group_policy == "all"
        or (group_policy == "allowlist" and chat in allowed_groups)
    )
    sender_ok = not allowed or sender_id in allowed
    assert read.allows(chat_id=chat, senders=(sender_id,), from_me=False) == (
        group_ok and sender_ok
    )


def own(message_id: str, chat_id: str, text: str, *, from_me: bool = True) -> WaMessage:
    return WaMessage(id=message_id, chat_id=chat_id, from_me=from_me, timestamp=1.0, body=text)


def test_self_chat_deliverable_takes_own_messages_only_in_own_chats() -> None:
    deliverable = self_chat_deliverable(lambda: frozenset({ALICE}))
    assert deliverable(own("a", ALICE, "hi"))
    assert not deliverable(own("b", BOB, "hi"))
    assert deliverable(own("c", BOB, "hi", from_me=False))
    assert not deliverable(own("d", "status@broadcast", "hi", from_me=False))


def test_own_sends_with_ids_are_claimed_and_handled_in_the_ledger() -> None:
    ledger = MessageLedger(watermark=0)
    sends = OwnSends(lambda: ledger, lambda: 100.0)
    # The id sent may be bare; the echo comes serialized.
    sends.sending(ALICE, "lights on", "KEY1")
    assert sends.claims(own(f"true_{ALICE}_KEY1", ALICE, "other text"))
    assert not sends.claims(own(f"true_{ALICE}_KEY1", ALICE, "x", from_me=False))
    assert not sends.claims(own(f"true_{ALICE}_KEY9", ALICE, "lights on"))
    sends.sent(ALICE, f"true_{ALICE}_KEY1")
    assert ledger.seen(f"true_{ALICE}_KEY1")
    assert ledger.cursor(ALICE) is None
    assert sends.full_id("KEY1") == f"true_{ALICE}_KEY1"
    assert sends.full_id("KEY9") is None


def test_own_sends_without_ids_claim_the_echo_once() -> None:
    now = [100.0]
    ledger = MessageLedger(watermark=0)
    sends = OwnSends(lambda: ledger, lambda: now[0])
    sends.sending(ALICE, "lights on", None)
    assert not sends.claims(own("x", ALICE, "lights on", from_me=False))
    assert not sends.claims(own("x", BOB, "lights on"))
    assert not sends.claims(own("x", ALICE, "lights off"))
    assert sends.claims(own("x", ALICE, "lights on"))
    # Claimed once: the same text written by you afterwards is yours.
    assert not sends.claims(own("y", ALICE, "lights on"))


def test_own_sends_forget_an_answered_or_old_expectation() -> None:
    now = [100.0]
    ledger = MessageLedger(watermark=0)
    sends = OwnSends(lambda: ledger, lambda: now[0])
    sends.sending(BOB, "one", None)
    sends.sending(ALICE, "two", None)
    sends.sent(ALICE, "id-two")
    assert ledger.seen("id-two")
    assert not sends.claims(own("id-x", ALICE, "two"))
    now[0] += ECHO_WINDOW + 1
    assert not sends.claims(own("id-y", BOB, "one"))


def test_mark_handled_is_bounded_and_moves_no_cursor() -> None:
    ledger = MessageLedger(watermark=0, max_ids=2)
    ledger.record("in-1", ALICE, 5.0)
    ledger.mark_handled("out-1")
    ledger.mark_handled("out-2")
    assert not ledger.seen("in-1")
    assert ledger.seen("out-1")
    assert ledger.seen("out-2")
    assert ledger.cursor(ALICE) == 5.0
    ledger.mark_handled("out-1")
    ledger.mark_handled("out-3")
    assert ledger.seen("out-1")
    assert not ledger.seen("out-2")
