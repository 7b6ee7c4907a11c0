"""Config flow of the WhatsApp Gateway integration: user, reauth, reconfigure and options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlowWithReload,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_NAME,
    CONF_URL,
    CONF_VERIFY_SSL,
    UnitOfInformation,
    UnitOfTime,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    ConversationAgentSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from yarl import URL

from .bridge import (
    SessionInfo,
    SessionStatus,
    WahaAuthError,
    WahaClient,
    WahaConnectionError,
    WahaError,
    WahaResponseError,
    WahaSessionNotFoundError,
)
from .bridge.errors import WahaSessionNameError
from .compat import vol
from .const import (
    ATTR_TARGET,
    CONF_ALLOWED_GROUPS,
    CONF_ALLOWED_SENDERS,
    CONF_ANSWER_BUFFERED,
    CONF_AUTO_START,
    CONF_BACKFILL_HOURS,
    CONF_BACKOFF_MAX,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    CONF_DOWNLOAD_MEDIA,
    CONF_GROUP_POLICY,
    CONF_HEARTBEAT,
    CONF_MEDIA_KEEP_DAYS,
    CONF_MEDIA_MAX_MB,
    CONF_POLL_INTERVAL,
    CONF_PRESENCE_KEEPALIVE,
    CONF_QUEUE_TTL,
    CONF_SELF_CHAT,
    CONF_SEND_RATE,
    CONF_SESSION,
    CONF_STT_ENTITY,
    DEFAULT_OPTIONS,
    DEFAULT_SESSION,
    DEFAULT_URL,
    DOMAIN,
    GROUP_POLICIES,
    LOGGER,
    SUBENTRY_RECIPIENT,
)
from .identity import ACCOUNT_IDENTITY_MINOR_VERSION, is_account_id
from .pairing import BridgePairingLink, PairingFlow
from .targets import InvalidTargetError, normalize_target

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

STEP_USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL, default=DEFAULT_URL): _URL_SELECTOR,
        vol.Required(CONF_API_KEY): _KEY_SELECTOR,
        vol.Required(CONF_SESSION, default=DEFAULT_SESSION): TextSelector(),
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)
RECIPIENT_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME): TextSelector(),
        vol.Required(ATTR_TARGET): TextSelector(TextSelectorConfig(type=TextSelectorType.TEL)),
    }
)
STEP_REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_API_KEY): _KEY_SELECTOR})
# The stored key is never sent to the browser: left empty, it stays as it is.
STEP_RECONFIGURE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Optional(CONF_API_KEY): _KEY_SELECTOR,
        vol.Required(CONF_SESSION): TextSelector(),
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)


def _whole(minimum: int, maximum: int, unit: str | None = None) -> vol.All[int]:
    """A box for a whole number within [minimum, maximum]."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return vol.All(NumberSelector(config), vol.Coerce(int))


OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HEARTBEAT, default=DEFAULT_OPTIONS[CONF_HEARTBEAT]): _whole(
            10, 300, UnitOfTime.SECONDS
        ),
        vol.Required(CONF_POLL_INTERVAL, default=DEFAULT_OPTIONS[CONF_POLL_INTERVAL]): _whole(
            15, 3600, UnitOfTime.SECONDS
        ),
        vol.Required(CONF_BACKOFF_MAX, default=DEFAULT_OPTIONS[CONF_BACKOFF_MAX]): _whole(
            10, 3600, UnitOfTime.SECONDS
        ),
        vol.Required(CONF_AUTO_START, default=DEFAULT_OPTIONS[CONF_AUTO_START]): BooleanSelector(),
        vol.Required(
            CONF_PRESENCE_KEEPALIVE, default=DEFAULT_OPTIONS[CONF_PRESENCE_KEEPALIVE]
        ): BooleanSelector(),
        vol.Required(CONF_BACKFILL_HOURS, default=DEFAULT_OPTIONS[CONF_BACKFILL_HOURS]): _whole(
            0, 168, UnitOfTime.HOURS
        ),
        vol.Required(CONF_QUEUE_TTL, default=DEFAULT_OPTIONS[CONF_QUEUE_TTL]): _whole(
            60, 604800, UnitOfTime.SECONDS
        ),
        vol.Required(CONF_SEND_RATE, default=DEFAULT_OPTIONS[CONF_SEND_RATE]): _whole(1, 120),
    }
)

# Who may talk to the home, and who answers: a section of the options form.
TALK_SECTION = "talk"
TALK_OPTIONS = (
    CONF_ALLOWED_SENDERS,
    CONF_GROUP_POLICY,
    CONF_ALLOWED_GROUPS,
    CONF_SELF_CHAT,
    CONF_CONVERSATION_AGENT,
    CONF_DEBOUNCE,
    CONF_ANSWER_BUFFERED,
)
_LIST_SELECTOR = TextSelector(TextSelectorConfig(multiple=True))
TALK_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_ALLOWED_SENDERS): _LIST_SELECTOR,
        vol.Required(CONF_GROUP_POLICY, default=DEFAULT_OPTIONS[CONF_GROUP_POLICY]): SelectSelector(
            SelectSelectorConfig(
                options=list(GROUP_POLICIES),
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=CONF_GROUP_POLICY,
            )
        ),
        vol.Optional(CONF_ALLOWED_GROUPS): _LIST_SELECTOR,
        vol.Required(CONF_SELF_CHAT, default=DEFAULT_OPTIONS[CONF_SELF_CHAT]): BooleanSelector(),
        vol.Optional(CONF_CONVERSATION_AGENT): ConversationAgentSelector(),
        vol.Required(CONF_DEBOUNCE, default=DEFAULT_OPTIONS[CONF_DEBOUNCE]): _whole(
            0, 60, UnitOfTime.SECONDS
        ),
        vol.Required(
            CONF_ANSWER_BUFFERED, default=DEFAULT_OPTIONS[CONF_ANSWER_BUFFERED]
        ): BooleanSelector(),
    }
)
# Received files and voice notes: a section of the options form.
MEDIA_SECTION = "media"
MEDIA_OPTIONS = (CONF_DOWNLOAD_MEDIA, CONF_MEDIA_MAX_MB, CONF_MEDIA_KEEP_DAYS, CONF_STT_ENTITY)
MEDIA_SCHEMA = vol.Schema(
    {
        vol.Required(
            CONF_DOWNLOAD_MEDIA, default=DEFAULT_OPTIONS[CONF_DOWNLOAD_MEDIA]
        ): BooleanSelector(),
        vol.Required(CONF_MEDIA_MAX_MB, default=DEFAULT_OPTIONS[CONF_MEDIA_MAX_MB]): _whole(
            1, 2000, UnitOfInformation.MEGABYTES
        ),
        vol.Required(CONF_MEDIA_KEEP_DAYS, default=DEFAULT_OPTIONS[CONF_MEDIA_KEEP_DAYS]): _whole(
            0, 3650, UnitOfTime.DAYS
        ),
        vol.Optional(CONF_STT_ENTITY): EntitySelector(EntitySelectorConfig(domain="stt")),
    }
)
OPTIONS_FORM_SCHEMA = OPTIONS_SCHEMA.extend(
    {
        vol.Optional(TALK_SECTION): section(TALK_SCHEMA, {"collapsed": True}),
        vol.Optional(MEDIA_SECTION): section(MEDIA_SCHEMA, {"collapsed": True}),
    }
)


def validated_media_options(media: Mapping[str, Any]) -> dict[str, Any]:
    """The media section as stored: an emptied STT entity is removed."""
    return {key: media[key] for key in MEDIA_OPTIONS if media.get(key) not in (None, "")}


def validated_talk_options(talk: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The talk section as stored (numbers as chat ids), and the errors by field."""
    options: dict[str, Any] = {
        key: talk[key] for key in TALK_OPTIONS if talk.get(key) not in (None, "")
    }
    errors: dict[str, str] = {}
    senders: list[str] = []
    for sender in talk.get(CONF_ALLOWED_SENDERS) or []:
        try:
            senders.append(normalize_target(sender))
        except InvalidTargetError:
            errors[CONF_ALLOWED_SENDERS] = "invalid_sender"
    groups: list[str] = []
    for group in talk.get(CONF_ALLOWED_GROUPS) or []:
        try:
            groups.append(normalize_target(group))
        except InvalidTargetError:
            errors[CONF_ALLOWED_GROUPS] = "invalid_group"
        else:
            if not groups[-1].endswith("@g.us"):
                errors[CONF_ALLOWED_GROUPS] = "invalid_group"
    options[CONF_ALLOWED_SENDERS] = list(dict.fromkeys(senders))
    options[CONF_ALLOWED_GROUPS] = list(dict.fromkeys(groups))
    return options, errors


def normalize_url(url: str) -> str:
    """Return the bridge URL as stored: http(s), lowercase host, no default port, query or `/`.

    An address typed without a scheme gets `http://`. Raises ValueError when the result is
    not an http or https URL with a host.
    """
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parsed = URL(text)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("not an http(s) URL with a host")
    # with_path drops the query and the fragment as well.
    return str(parsed.with_path(parsed.raw_path.rstrip("/"), encoded=True))


def _public_url(url: str) -> str:
    """The normalised URL without user name and password (safe to show or log)."""
    return str(URL(normalize_url(url)).with_user(None))


def build_unique_id(url: str, session: str) -> str:
    """The entry's unique id: normalised bridge URL (no credentials) + `#` + session."""
    return f"{_public_url(url)}#{session}"


def account_unique_id(info: SessionInfo | None) -> str | None:
    """The entry's identity: the WhatsApp account (`me.id`), known once the phone is linked.

    A URL names where the bridge is, not who: moving the bridge must not make a new device.
    """
    return info.me.id if info is not None and info.me is not None else None


def _title(info: SessionInfo | None, session: str) -> str:
    """The WhatsApp push name when the bridge knows it, else a name from the session."""
    if info is not None and info.me is not None and info.me.push_name:
        return info.me.push_name
    return f"WhatsApp {session}"


def _parse_input(
    user_input: Mapping[str, Any], current_key: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """Entry data from the form (an empty key keeps `current_key`) and the input errors."""
    errors: dict[str, str] = {}
    try:
        url = normalize_url(user_input[CONF_URL])
    except ValueError:
        url = ""
        errors[CONF_URL] = "invalid_url"
    session = user_input[CONF_SESSION].strip()
    if not session:
        errors[CONF_SESSION] = "session_not_found"
    data = {
        CONF_URL: url,
        CONF_API_KEY: user_input.get(CONF_API_KEY, "").strip() or current_key,
        CONF_SESSION: session,
        CONF_VERIFY_SSL: user_input[CONF_VERIFY_SSL],
    }
    return data, errors


class WhatsAppGatewayConfigFlow(PairingFlow[ConfigFlowResult], ConfigFlow, domain=DOMAIN):
    """Set up a bridge session (created and linked here if needed), reauth, reconfigure."""

    VERSION = 1
    MINOR_VERSION = ACCOUNT_IDENTITY_MINOR_VERSION
    # What the user step accepted, kept for the pairing steps and the way back to the form.
    _data: dict[str, Any] | None = None

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Recipients: each one gets a notify entity."""
        return {SUBENTRY_RECIPIENT: RecipientSubentryFlow}

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> WhatsAppGatewayOptionsFlow:
        """Return the options flow."""
        return WhatsAppGatewayOptionsFlow()

    async def _async_check(
        self, data: Mapping[str, Any], *, need_session: bool = True
    ) -> tuple[SessionInfo | None, dict[str, str]]:
        """Ask the bridge for its version and the session; return the session and errors.

        With `need_session` false a missing session is no error (reauth only checks the key).
        """
        client = self._client(data)
        errors: dict[str, str] = {}
        reached = False
        try:
            await client.version()
            reached = True
            if data[CONF_SESSION] != DEFAULT_SESSION and not client.capabilities.multi_session:
                # WAHA Core before 2026.6.1 runs the session 'default' only.
                errors[CONF_SESSION] = "default_session_only"
                return None, errors
            return await client.get_session(data[CONF_SESSION]), errors
        except WahaAuthError:
            errors[CONF_API_KEY] = "invalid_auth"
        except WahaSessionNameError:
            errors[CONF_SESSION] = "default_session_only"
        except WahaSessionNotFoundError:
            if not reached:
                # A 404 for the version: whatever answers there is not a WAHA bridge.
                errors["base"] = "cannot_connect"
            elif need_session:
                errors[CONF_SESSION] = "session_not_found"
        except (WahaConnectionError, WahaResponseError):
            errors["base"] = "cannot_connect"
        except Exception:  # noqa: BLE001
            LOGGER.exception("Unexpected error checking the bridge at %s", client.origin)
            errors["base"] = "unknown"
        return None, errors

    def _client(self, data: Mapping[str, Any]) -> WahaClient:
        return WahaClient(
            async_get_clientsession(self.hass, verify_ssl=data[CONF_VERIFY_SSL]),
            data[CONF_URL],
            data[CONF_API_KEY],
            verify_ssl=data[CONF_VERIFY_SSL],
        )

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the bridge, its key and the session; create the entry once they work.

        A session that is not linked yet goes through the pairing steps first, and a
        missing one can be created, so nobody needs the bridge's own UI.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _parse_input(user_input)
            if not errors:
                self._async_abort_entries_match(
                    {CONF_URL: data[CONF_URL], CONF_SESSION: data[CONF_SESSION]}
                )
                info, errors = await self._async_check(data)
                self._data = data
                if errors.get(CONF_SESSION) == "session_not_found":
                    return await self.async_step_missing_session()
                if not errors and info is not None and info.status is SessionStatus.WORKING:
                    return await self._async_create(info, data)
                if not errors:
                    return await self._async_begin_pairing(self._pairing_link_for(data))
        elif self._data is not None:
            # Back from the missing-session menu: the form keeps what was typed.
            user_input = dict(self._data)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(STEP_USER_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_missing_session(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The session does not exist: create it, or go back and name another one."""
        session = self._data[CONF_SESSION] if self._data is not None else ""
        return self.async_show_menu(
            step_id="missing_session",
            menu_options=["create_session", "user"],
            description_placeholders={"session": session},
        )

    def _pairing_link_for(self, data: Mapping[str, Any]) -> BridgePairingLink:
        return BridgePairingLink(self.hass, self._client(data), data[CONF_SESSION])

    async def async_step_create_session(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Create the session on the bridge, start it and link the phone."""
        if self._data is None:
            return await self.async_step_user()
        return await self._async_begin_pairing(self._pairing_link_for(self._data))

    @override
    async def _async_paired(self) -> ConfigFlowResult:
        """Linked: create the entry, named after the WhatsApp account."""
        data = self._data or {}
        try:
            info: SessionInfo | None = await self._client(data).get_session(data[CONF_SESSION])
        except WahaError:
            info = None
        return await self._async_create(info, data)

    async def _async_create(
        self, info: SessionInfo | None, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Create the entry under the account's identity (once per WhatsApp account)."""
        unique_id = account_unique_id(info) or build_unique_id(data[CONF_URL], data[CONF_SESSION])
        await self.async_set_unique_id(unique_id, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=_title(info, data[CONF_SESSION]), data=data)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the bridge rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new key and check it against the entry's bridge."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input[CONF_API_KEY].strip()
            _, errors = await self._async_check(
                {**entry.data, CONF_API_KEY: api_key}, need_session=False
            )
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_KEY: api_key}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=STEP_REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={
                "url": _public_url(entry.data[CONF_URL]),
                "title": entry.title,
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the bridge URL, key or session of an entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        suggested: Mapping[str, Any] | None = user_input
        if user_input is not None:
            data, errors = _parse_input(user_input, entry.data[CONF_API_KEY])
            if not errors:
                if any(
                    other.entry_id != entry.entry_id
                    and other.data.get(CONF_URL) == data[CONF_URL]
                    and other.data.get(CONF_SESSION) == data[CONF_SESSION]
                    for other in self._async_current_entries(include_ignore=False)
                ):
                    return self.async_abort(reason="already_configured")
                info, errors = await self._async_check(data)
                account = account_unique_id(info)
                if not errors and account is not None and is_account_id(entry.unique_id):
                    # The identity stays: the device, its entities and automations with it.
                    await self.async_set_unique_id(account, raise_on_progress=False)
                    self._abort_if_unique_id_mismatch(reason="wrong_account")
                if not errors:
                    return self.async_update_reload_and_abort(
                        entry, title=_title(info, data[CONF_SESSION]), data_updates=data
                    )
        else:
            suggested = {key: entry.data[key] for key in (CONF_URL, CONF_SESSION, CONF_VERIFY_SSL)}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(STEP_RECONFIGURE_SCHEMA, suggested),
            errors=errors,
            description_placeholders={"title": entry.title},
        )


class WhatsAppGatewayOptionsFlow(OptionsFlowWithReload):
    """Tune the link; saving changed options reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the link, talk and media options, prefilled with the current values."""
        errors: dict[str, str] = {}
        current = {**DEFAULT_OPTIONS, **self.config_entry.options}
        if user_input is not None:
            link = {
                key: value
                for key, value in user_input.items()
                if key not in (TALK_SECTION, MEDIA_SECTION)
            }
            media_input = user_input.get(MEDIA_SECTION)
            # Saved without the section: the media options stay as they are.
            media = (
                {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key in MEDIA_OPTIONS
                }
                if media_input is None
                else validated_media_options(media_input)
            )
            talk_input = user_input.get(TALK_SECTION)
            if talk_input is None:
                # Saved without the section: the talk options stay as they are.
                talk = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key in TALK_OPTIONS
                }
            else:
                talk, errors = validated_talk_options(talk_input)
            if not errors:
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in TALK_OPTIONS and key not in MEDIA_OPTIONS
                }
                # Keep option keys this form does not own.
                return self.async_create_entry(data={**kept, **link, **talk, **media})
        suggested = {
            **current,
            TALK_SECTION: {key: current[key] for key in TALK_OPTIONS if current[key] is not None},
            MEDIA_SECTION: {key: current[key] for key in MEDIA_OPTIONS if current[key] is not None},
        }
        if user_input is not None:
            suggested = {**suggested, **user_input}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_FORM_SCHEMA, suggested),
            errors=errors,
        )


class RecipientSubentryFlow(ConfigSubentryFlow):
    """Add a recipient (a phone number or a chat id) that gets a notify entity."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for a name and the number or chat id."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                chat_id = normalize_target(user_input[ATTR_TARGET])
            except InvalidTargetError:
                errors[ATTR_TARGET] = "invalid_target"
            else:
                entry = self._get_entry()
                if any(sub.unique_id == chat_id for sub in entry.subentries.values()):
                    return self.async_abort(reason="already_configured")
                return self.async_create_entry(
                    title=user_input[CONF_NAME], data={ATTR_TARGET: chat_id}, unique_id=chat_id
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(RECIPIENT_SCHEMA, user_input),
            errors=errors,
        )
