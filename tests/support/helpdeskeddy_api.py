"""HelpDeskEddy's API objects as the reference describes them, for respx-mocked tests."""

from __future__ import annotations

BASE = "https://acme.helpdeskeddy.com/api/v2/"
EMAIL = "bot@acme.test"
API_KEY = "hde-secret-key-0123456789"
USER_API_KEY = "client-user-secret-key"


def ticket_obj(**overrides: object) -> dict[str, object]:
    """A ticket as GET /tickets/{id}/ returns it (fields per the reference, section 3.3)."""
    ticket: dict[str, object] = {
        "id": 84397,
        "unique_id": "IQV-84397",
        "date_created": "2026-11-22 10:00:00",
        "date_updated": "2026-11-22 10:05:00",
        "title": "Printer is on fire",
        "source": "email",
        "status_id": "open",
        "priority_id": 2,
        "type_id": 1,
        "department_id": 3,
        "department_name": "Support",
        "owner_id": 7,
        "owner_name": "Olga",
        "owner_lastname": "Ivanova",
        "owner_email": "olga@acme.test",
        "user_id": 55,
        "user_name": "Ivan",
        "user_lastname": "Petrov",
        "user_email": "ivan@client.test",
        "cc": [],
        "bcc": [],
        "followers": [],
        "ticket_lock": 0,
        "sla_date": "",
        "freeze": 0,
        "deleted": 0,
        "custom_fields": [],
    }
    ticket.update(overrides)
    return ticket


def user_obj() -> dict[str, object]:
    return {
        "id": 55,
        "name": "Ivan",
        "lastname": "Petrov",
        "email": "ivan@client.test",
        "organization": "Client LLC",
        "status": "active",
        "api_key": USER_API_KEY,
        "group": {"id": 2, "type": "user", "name": {"ru": "Клиенты"}},
    }
