"""LocaleSettings: the platform's default language and time zone (COURTYARD_LOCALE__*)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, field_validator

from i18n.languages import DEFAULT_LANGUAGE, LANGUAGES, normalize


class LocaleSettings(BaseModel):
    #: What people read when neither they, their browser nor their site says otherwise, and
    #: the language of the CLI unless the terminal's locale (LANGUAGE, LC_ALL, LANG) is one of
    #: ours. `zh-CN` or `en`.
    default_language: str = DEFAULT_LANGUAGE
    #: The IANA zone a site gets when it registers itself (a device's first message).
    default_timezone: str = "Asia/Shanghai"

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        code = normalize(value)
        if code is None:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}, not {value!r}")
        return code

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"must be an IANA time zone such as Asia/Shanghai, not {value!r}"
            ) from None
        return value
