"""The Bitrix24 CRM as a plugin: its settings and how it is built.

It reads ``BITRIX24_CRM_WEBHOOK_URL``, else the tracker's ``BITRIX24_WEBHOOK_URL``
(the webhook needs the ``crm`` scope, and ``user`` for the managers' names), and
the routing file's ``crm.contract`` (which deal pipeline holds the support
contracts and which of its fields mean what). On the same portal as the tracker
it waits for the same request budget.
"""

from __future__ import annotations

from pydantic import AliasPath, Field, SecretStr

from connectors.bitrix24_crm import Bitrix24CrmConnector
from connectors.bitrix24_rest import portal_limiter
from connectors.crm import CRM, CrmConnector
from connectors.environment import Bitrix24CrmEnvironment, Bitrix24Environment
from connectors.observe import observed
from connectors.plugin import ConnectorPlugin, ConnectorSettings, References

_CONTRACT = ("routing", "crm", "contract")


class Bitrix24CrmSettings(Bitrix24Environment, Bitrix24CrmEnvironment, ConnectorSettings):
    """``BITRIX24_CRM_WEBHOOK_URL`` (or ``BITRIX24_WEBHOOK_URL``) plus ``crm.contract``."""

    deal_category: int | None = Field(
        None, validation_alias=AliasPath(*_CONTRACT, "deal_category")
    )
    contract_fields: dict[str, str | None] = Field(
        default_factory=dict, validation_alias=AliasPath(*_CONTRACT, "fields")
    )

    @property
    def webhook_url(self) -> SecretStr | None:
        """The CRM's own webhook, else the tracker's."""
        return self.bitrix24_crm_webhook_url or self.bitrix24_webhook_url

    def missing(self) -> str | None:
        """Neither webhook URL is set."""
        if self.webhook_url is None:
            return "BITRIX24_CRM_WEBHOOK_URL (or BITRIX24_WEBHOOK_URL) is not set"
        return None


def _build(settings: Bitrix24CrmSettings) -> CrmConnector:
    assert settings.webhook_url is not None  # checked by missing()
    url = settings.webhook_url.get_secret_value()
    fields = {meaning: code for meaning, code in settings.contract_fields.items() if code}
    return Bitrix24CrmConnector(
        webhook_url=url,
        deal_category=settings.deal_category,
        fields=fields,
        limiter=portal_limiter(settings.budgets, url),
        transport=observed(
            None, settings.observer, kind=CRM.name, system=Bitrix24CrmConnector.slug
        ),
    )


def bitrix24_crm_plugin() -> ConnectorPlugin[Bitrix24CrmSettings, CrmConnector]:
    """Bitrix24 contacts, companies and support deals; managers by ``bitrix24_id``."""
    return ConnectorPlugin(
        kind=CRM,
        slug=Bitrix24CrmConnector.slug,
        settings=Bitrix24CrmSettings,
        build=_build,
        references=References(person="bitrix24_id"),
    )
