"""Changes made in the helpdesk (seen by webhook) update the card; logs and webhook mode."""

from __future__ import annotations

import asyncio
import json

from structlog.testing import capture_logs

from config.routing import RoutingConfig
from tests.support.dispatching import DISPATCH, OLGA, PETR, REASSIGN
from tests.support.harness import SECRET, Harness, running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator


async def test_assigned_then_closed_then_reopened_in_the_helpdesk(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("81"))
        card = await h.card()
        answer = await h.post_generic(
            ticket_body("81", event="ticket.assigned", assignee="12", department="1")
        )
        assert answer.json() == {"status": "accepted"}
        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Support) in the helpdesk"
                in tg.message(DISPATCH, card.message_id).text
            )
        )
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [REASSIGN]
        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)

        await h.post_generic(ticket_body("81", event="ticket.closed", assignee="12"))
        await tg.wait_for(
            lambda: "Closed in the helpdesk" in tg.message(DISPATCH, card.message_id).text,
            timeout=6,
        )

        await h.post_generic(ticket_body("81", event="ticket.reopened", assignee=None))
        await tg.wait_for(
            lambda: (
                "Assigned to Olga" in tg.message(DISPATCH, card.message_id).text
                and "Closed" not in tg.message(DISPATCH, card.message_id).text
            ),
            timeout=6,
        )
        (ticket,) = await h.tickets()
        assert ticket.state == "assigned"
        assert len(tg.messages(DISPATCH)) == 1


async def test_reassigned_in_the_helpdesk_tells_the_new_assignee(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("82", assignee="12"))
        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)
        assert tg.messages(DISPATCH) == [], "an already assigned ticket needs no dispatching"
        await h.post_generic(ticket_body("82", event="ticket.assigned", assignee="13"))
        await tg.wait_for(lambda: len(tg.messages(PETR)) == 1)
        (ticket,) = await h.tickets()
        assert ticket.assignee_key == "petr"
        assert ticket.department_key == "dev"


async def test_one_json_log_line_per_webhook_with_the_ticket_and_no_secret(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        with capture_logs() as logs:
            await h.post_generic(ticket_body("91"))
            await h.card()
            await asyncio.sleep(0.1)
    webhook = [e for e in logs if e["event"] == "webhook"]
    assert len(webhook) == 1
    assert webhook[0]["external_id"] == "91"
    assert webhook[0]["status"] == 200
    intake = [e for e in logs if e["event"] == "intake.accepted"]
    assert intake[0]["ticket_id"] == 1
    sends = [e for e in logs if e["event"] == "outbox.call"]
    assert sends
    assert sends[0]["ticket_id"] == 1
    dumped = json.dumps(logs, default=str)
    assert SECRET not in dumped
    assert tg.token not in dumped


async def test_telegram_webhook_mode_checks_the_secret(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(
        tg,
        routing,
        sqlite_url,
        telegram_webhook_url="http://127.0.0.1:1/telegram/webhook",
        telegram_webhook_secret="tg-secret_1",
    ) as h:
        set_hook = [c for c in tg.calls if c.method.lower() == "setwebhook"]
        assert set_hook
        assert set_hook[-1].params["secret_token"] == "tg-secret_1"
        forged = await h.http.post("/telegram/webhook", json={"update_id": 1})
        assert forged.status_code == 401
        start = {
            "update_id": 2,
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/start",
                "chat": {"id": OLGA, "type": "private", "first_name": "Olga"},
                "from": {"id": OLGA, "is_bot": False, "first_name": "Olga"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        genuine = await h.http.post(
            "/telegram/webhook",
            json=start,
            headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret_1"},
        )
        assert genuine.status_code == 200
        await tg.wait_for(lambda: any("Hello!" in m.text for m in tg.messages(OLGA)))
        await h.post_generic(ticket_body("95"))
        await h.card()


def member_update(update_id: int, status: str) -> dict[str, object]:
    bot = {"id": 123456, "is_bot": True, "first_name": "Modest"}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": OLGA, "type": "private", "first_name": "Olga"},
            "from": {"id": OLGA, "is_bot": False, "first_name": "Olga"},
            "date": 0,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": (
                {"status": status, "user": bot, "until_date": 0}
                if status == "kicked"
                else {"status": status, "user": bot}
            ),
        },
    }


async def test_the_bot_blocked_and_unblocked_by_a_user_is_tracked(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret_1"}
    async with running_modest(
        tg,
        routing,
        sqlite_url,
        telegram_webhook_url="http://127.0.0.1:1/telegram/webhook",
        telegram_webhook_secret="tg-secret_1",
    ) as h:
        blocked = await h.http.post(
            "/telegram/webhook", json=member_update(10, "kicked"), headers=headers
        )
        assert blocked.status_code == 200
        assert await _wait_blocked(h, expected=True)
        await h.http.post("/telegram/webhook", json=member_update(11, "member"), headers=headers)
        assert await _wait_blocked(h, expected=False)


async def _wait_blocked(h: Harness, *, expected: bool) -> bool:
    """Wait (the webhook handles updates in the background) until Olga's chat is as expected."""
    for _ in range(100):
        async with h.service.database.unit_of_work() as uow:
            if (OLGA in await uow.outbox.blocked_chats()) == expected:
                return True
        await asyncio.sleep(0.05)
    return False
