"""The routing file's ``crm:`` section: which CRM, which deals are contracts, how long
a look-up is kept, and whether clients come from the CRM.

```yaml
crm:
  kind: bitrix24
  contract:
    deal_category: 3               # the pipeline of support deals
    fields:                        # meaning -> the deal's field code
      hours_per_month: UF_CRM_HOURS
      hour_rate: UF_CRM_RATE
      overage_rate: UF_CRM_OVERAGE_RATE
      contract: UF_CRM_CONTRACT_NO
      portal: UF_CRM_PORTAL_URL
  cache_ttl: 15m
  clients_from_crm: true           # YAML clients still win by key
```
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from config.schedule import Duration
from config.sections import ConnectorSlug, Section, check_known, invalid, null_as

_FIELD_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def _check_code(value: str) -> str:
    if not _FIELD_CODE.fullmatch(value):
        raise invalid(f"invalid field code {value!r}: use the CRM's code, e.g. UF_CRM_HOURS")
    return value


FieldCode = Annotated[str, AfterValidator(_check_code)]


class ContractFields(Section):
    """Which field of the support deal means what (each optional)."""

    hours_per_month: FieldCode | None = None
    hour_rate: FieldCode | None = None
    overage_rate: FieldCode | None = None
    contract: FieldCode | None = None
    portal: FieldCode | None = None


class ContractSection(Section):
    """The support deal: its pipeline (deal category) and its fields."""

    deal_category: int | None = Field(None, ge=0)
    fields: Annotated[ContractFields, null_as({})] = Field(default_factory=ContractFields)


class CrmSection(Section):
    """The CRM Modest looks requesters and contracts up in; no ``kind``: none."""

    #: A CRM connector (``bitrix24``...); checked at start.
    kind: ConnectorSlug | None = None
    contract: Annotated[ContractSection, null_as({})] = Field(default_factory=ContractSection)
    #: How long a look-up (a requester, a company and its contract) is reused.
    cache_ttl: Duration = timedelta(minutes=15)
    #: Clients and their packages come from the CRM's support deals.
    clients_from_crm: bool = False

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_known("crm", value, info)

    @field_validator("clients_from_crm")
    @classmethod
    def _contracts_configured(cls, value: bool, info: ValidationInfo) -> bool:
        if not value:
            return value
        contract = info.data.get("contract")
        if "kind" in info.data and info.data["kind"] is None:
            raise invalid("needs crm.kind")
        if isinstance(contract, ContractSection) and contract.deal_category is None:
            raise invalid("needs crm.contract.deal_category (the pipeline of support deals)")
        if isinstance(contract, ContractSection) and contract.fields.hours_per_month is None:
            raise invalid("needs crm.contract.fields.hours_per_month")
        return value
