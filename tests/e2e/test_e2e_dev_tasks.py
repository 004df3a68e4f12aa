"""Developer tasks end to end: the button, the question, the developer, and what flows back."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

from connectors.base import TransientError
from connectors.fake import FakeHelpdesk
from connectors.fake_tracker import FakeTracker
from tests.support.actors import telegram_actor
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.routing import dev_task_routing as routing
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

OLGA, PETR = 1002, 1003


def find(tg: TelegramEmulator, chat: int, needle: str) -> EmulatedMessage | None:
    return next((m for m in reversed(tg.messages(chat)) if needle in m.text), None)


async def wait_message(tg: TelegramEmulator, chat: int, needle: str) -> EmulatedMessage:
    await tg.wait_for(lambda: find(tg, chat, needle) is not None, timeout=8)
    found = find(tg, chat, needle)
    assert found is not None
    return found


def press(tg: TelegramEmulator, chat: int, message: EmulatedMessage, label: str) -> str:
    data = next(d for text, d, _ in tg.buttons(chat, message.message_id) if text == label)
    assert data is not None
    return tg.press(chat, message.message_id, chat, data)


async def create_task(h: Harness, tg: TelegramEmulator, tracker: FakeTracker) -> str:
    """Olga gets a ticket and hands it to Petr; returns the tracker task id."""
    await h.post_generic(ticket_body("1", assignee="12", body="Printer prints blank pages"))
    handed = await wait_message(tg, OLGA, "A ticket for you")
    assert [b[0] for b in tg.buttons(OLGA, handed.message_id)] == [
        "Open in helpdesk",
        "Developer task",
        "↩️ Hand back",  # issue 17.10
    ]
    press(tg, OLGA, handed, "Developer task")
    question = await wait_message(tg, OLGA, "What should the developer do?")
    tg.send_text(OLGA, OLGA, "Fix the printer driver", reply_to_message_id=question.message_id)
    pick = await wait_message(tg, OLGA, "Who should do it?")
    press(tg, OLGA, pick, "Petr Ivanov")
    await tg.wait_for(lambda: bool(tracker.tasks), timeout=8)
    return next(iter(tracker.tasks))


async def test_the_button_the_question_the_developer_and_the_link_in_the_ticket(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk, tracker=tracker) as h:
        task_id = await create_task(h, tg, tracker)
        (draft,) = tracker.drafts
        assert draft.title == "[#A-1] Printer on fire"
        assert "Fix the printer driver" in draft.description
        assert "Printer prints blank pages" in draft.description
        assert "https://help.example/tickets/1" in draft.description
        assert (draft.assignee_ref, draft.project) == ("5", "dev")
        url = f"https://tracker.test/tasks/{task_id}"
        await tg.wait_for(lambda: ("1", f"Developer task created: {url}") in helpdesk.notes)
        for_petr = await wait_message(tg, PETR, "A developer task for you")
        assert "Fix the printer driver" in for_petr.text
        await wait_message(tg, OLGA, "Developer task created for Petr Ivanov")


async def test_comments_flow_back_once_replies_go_in_and_completion_is_reported(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk, tracker=tracker) as h:
        task_id = await create_task(h, tg, tracker)
        sync = h.service.domain.dev_sync
        tracker.add_developer_comment(task_id, "Driver updated, please test", author_name="Petr")
        await sync.sync_open()
        await sync.sync_open()  # a second poll carries nothing twice
        comment = await wait_message(tg, OLGA, "Driver updated, please test")
        await tg.wait_for(lambda: any("Driver updated" in text for _, text in helpdesk.notes))
        await asyncio.sleep(0.5)
        assert sum("Driver updated" in text for _, text in helpdesk.notes) == 1
        assert sum("Driver updated" in m.text for m in tg.messages(OLGA)) == 1

        press(tg, OLGA, comment, "Reply in the task")
        ask = await wait_message(tg, OLGA, "answer for the developer")
        tg.send_text(OLGA, OLGA, "Tested, works", reply_to_message_id=ask.message_id)
        await tg.wait_for(lambda: tracker.added == [(task_id, "Tested, works")])
        await sync.sync_open()
        await asyncio.sleep(0.5)
        assert not any("Tested, works" in text for _, text in helpdesk.notes), "no echo"

        tracker.complete(task_id)
        await sync.sync_open()
        await wait_message(tg, OLGA, "Developer task done — answer the client")
        await tg.wait_for(lambda: helpdesk.statuses == [("1", "process")])
        tracker.reopen(task_id)
        await sync.sync_open()
        await wait_message(tg, OLGA, "The developer task was reopened")

        tg.send_text(OLGA, OLGA, "/tasks")
        listing = await wait_message(tg, OLGA, "Developer tasks")
        assert "#A-1" in listing.text
        assert "Petr Ivanov" in listing.text


async def test_tracker_events_need_their_token_or_signature(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(
        tg,
        routing(),
        sqlite_url,
        tracker=FakeTracker(),
        bitrix24_app_token="b24-token",
        redmine_webhook_secret="rm-secret",
    ) as h:
        event = {
            "event": "ONTASKUPDATE",
            "data[FIELDS_AFTER][ID]": "7",
            "auth[application_token]": "wrong",
        }
        bad = await h.http.post("/webhooks/bitrix24", data=event)
        assert bad.status_code == 401
        event["auth[application_token]"] = "b24-token"
        good = await h.http.post("/webhooks/bitrix24", data=event)
        assert good.status_code == 200
        assert good.json() == {"status": "ignored"}, "not a task of ours"

        body = json.dumps({"type": "issue.updated", "data": {"issue": {"id": 7}}}).encode()
        unsigned = await h.http.post("/webhooks/redmine", content=body)
        assert unsigned.status_code == 401
        signature = "sha256=" + hmac.new(b"rm-secret", body, hashlib.sha256).hexdigest()
        signed = await h.http.post(
            "/webhooks/redmine", content=body, headers={"X-Redmine-Signature-256": signature}
        )
        assert signed.status_code == 200


async def test_a_tracker_that_is_down_delays_the_flow_and_loses_nothing(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    tracker.fail("create_task", 2, TransientError("tracker down"))
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk, tracker=tracker) as h:
        task_id = await create_task(h, tg, tracker)
        assert len(tracker.drafts) == 1, "created once, after two failed tries"
        tracker.add_developer_comment(task_id, "Looking into it", author_name="Petr")
        tracker.fail("list_comments", 1, TransientError("tracker down"))
        sync = h.service.domain.dev_sync
        await sync.sync_open()  # the tracker is down: nothing carried, nothing lost
        assert not any("Looking into it" in t for _, t in helpdesk.notes)
        await sync.sync_open()
        await tg.wait_for(lambda: sum("Looking into it" in t for _, t in helpdesk.notes) == 1)


async def test_a_double_tap_on_the_developer_makes_one_task_and_strangers_cannot_reply(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk, tracker=tracker) as h:
        await h.post_generic(ticket_body("1", assignee="12"))
        handed = await wait_message(tg, OLGA, "A ticket for you")
        press(tg, OLGA, handed, "Developer task")
        question = await wait_message(tg, OLGA, "What should the developer do?")
        press(tg, OLGA, question, "Use the ticket text")
        pick = await wait_message(tg, OLGA, "Who should do it?")
        first = press(tg, OLGA, pick, "Petr Ivanov")
        second = press(tg, OLGA, pick, "Petr Ivanov")
        await tg.wait_for(lambda: first in tg.callback_answers and second in tg.callback_answers)
        await tg.wait_for(lambda: bool(tracker.tasks), timeout=8)
        await asyncio.sleep(0.5)
        assert len(tracker.drafts) == 1
        dev_tasks = h.service.domain.dev_sync
        outcome = await dev_tasks.reply_start(
            task_id=1, actor=telegram_actor(h.service.routing, 1004)
        )  # Anna
        assert outcome.value == "not_allowed"
