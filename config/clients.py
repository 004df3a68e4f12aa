"""Clients and their hour packages, the time prompt and the monthly report settings.

```yaml
clients:
  - key: acme
    name: ООО «Акме»
    match: {companies: ["Acme", "ООО Акме"], email_domains: [acme.ru]}
    hours_per_month: 20        # or: unlimited: true
    hour_rate: 2500
    overage_rate: 3500         # default: hour_rate
    currency: RUB
    contract: "№ 12/2026"
    portal: https://acme.bitrix24.ru   # optional: the client's own portal
    start_date: 2026-01-01
    manager: dmitry            # a person key: gets alerts and the monthly report
    support_type: "Сопровождение сайта"   # shown in the client cabinet, like the rest
    portal_url: https://acme.ru
    portal_type: 1C-Bitrix
    tariff: Стандарт
    monthly_fee: 50000
    bonus_hours: 2
time_prompt: {interval: 1h}
reports:
  time: "09:00"
  provider:                    # who issues the reports (optional)
    name: ООО «Сервис»
    details: |                 # address, tax and bank details, one per line
      ИНН 7700000000, КПП 770001001
    logo: config/logo.png      # PNG or JPEG
    signatory: Директор И. И. Иванов
```
"""

from __future__ import annotations

import re
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator

from config.schedule import Duration, parse_duration
from config.sections import Key, Name, Section, invalid, null_as
from config.sla import ClientSla

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def _clock_time(value: object) -> object:
    if isinstance(value, time):
        return value
    match = _TIME.match(str(value).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise invalid(f'invalid time {value!r}: use HH:MM, e.g. "09:00"')
    return time(int(match.group(1)), int(match.group(2)))


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class ClientMatch(Section):
    """How a ticket is recognised as this client's: company name or e-mail domain."""

    companies: Annotated[tuple[str, ...], null_as(())] = ()
    email_domains: Annotated[tuple[str, ...], null_as(())] = ()


class Client(Section):
    """A client with a monthly package of support hours (or an unlimited contract)."""

    key: Key
    name: Name
    match: Annotated[ClientMatch, null_as({})] = Field(default_factory=ClientMatch)
    hours_per_month: Decimal | None = Field(None, ge=0)
    unlimited: bool = False
    hour_rate: Decimal = Field(Decimal(0), ge=0)
    overage_rate: Decimal | None = Field(None, ge=0)
    currency: str = "RUB"
    contract: str = ""
    #: The client's own site or portal the support is for (optional).
    portal: str = ""
    start_date: date | None = None
    manager: Key | None = None
    #: What the client cabinet shows on the contract page.
    support_type: str = ""
    portal_url: str = ""
    portal_type: str = ""
    tariff: str = ""
    monthly_fee: Decimal | None = Field(None, ge=0)
    bonus_hours: Decimal = Field(Decimal(0), ge=0)
    #: The contract's response and resolution times, over the matching SLA policy's.
    sla: ClientSla | None = None

    @model_validator(mode="after")
    def _package(self) -> Client:
        if self.unlimited == (self.hours_per_month is not None):
            raise invalid("give either hours_per_month or unlimited: true")
        return self

    @property
    def overage(self) -> Decimal:
        """The rate for hours past the package."""
        return self.overage_rate if self.overage_rate is not None else self.hour_rate

    def matches(self, *, company: str, email: str) -> bool:
        """Whether a ticket's company or client e-mail is this client's."""
        wanted = {name.casefold().strip() for name in self.match.companies}
        if company and company.casefold().strip() in wanted:
            return True
        domain = email.rpartition("@")[2].casefold()
        return bool(domain) and domain in {d.casefold() for d in self.match.email_domains}


class TimePromptSection(Section):
    """How often an unanswered "how much time did it take?" is asked again."""

    interval: Duration = parse_duration("1h")


_LOGO_SUFFIXES = (".png", ".jpg", ".jpeg")


class Provider(Section):
    """Who issues the reports: it heads each one and signs it."""

    name: Name
    #: Address, tax and bank details, one per line.
    details: str = ""
    #: A PNG or JPEG image, relative to the working directory.
    logo: Path | None = None
    #: Who signs for the provider ("Director I. I. Ivanov").
    signatory: str = ""

    @field_validator("logo")
    @classmethod
    def _check_logo(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if value.suffix.lower() not in _LOGO_SUFFIXES:
            raise invalid(f"{value}: use a PNG or JPEG image")
        if not value.is_file():
            raise invalid(f"{value}: file not found")
        return value


class ReportsSection(Section):
    """When the monthly reports go out (local time, on the first of the month), and who
    issues them."""

    time: ClockTime = time(9, 0)
    provider: Provider | None = None
