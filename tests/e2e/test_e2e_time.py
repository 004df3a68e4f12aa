"""Time spent on close, end to end through the bot: every way of answering."""

from __future__ import annotations

from connectors.fake import FakeHelpdesk
from tests.support.harness import close_assigned, entries, running_modest
from tests.support.routing import time_routing as routing
from tests.support.telegram_emulator import TelegramEmulator

OLGA = 1002


def prompt_buttons(tg: TelegramEmulator, message_id: int) -> dict[str, str]:
    return {text: data or "" for text, data, _ in tg.buttons(OLGA, message_id)}


async def test_close_asks_the_assignee_and_a_quick_answer_is_recorded_and_noted(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk) as h:
        await close_assigned(h, "1")
        await tg.wait_for(
            lambda: any("How much time" in m.text for m in tg.messages(OLGA)), timeout=6
        )
        prompt = next(m for m in tg.messages(OLGA) if "How much time" in m.text)
        assert "#A-1" in prompt.text
        assert "Acme LLC" in prompt.text
        buttons = prompt_buttons(tg, prompt.message_id)
        assert list(buttons) == [
            "15m",
            "30m",
            "45m",
            "1h",
            "1h30",
            "2h",
            "3h",
            "other…",
            "no charge (our fault)",
        ]
        query = tg.press(OLGA, prompt.message_id, OLGA, buttons["30m"])
        await tg.wait_for(lambda: query in tg.callback_answers)
        await tg.wait_for(
            lambda: "Recorded: 0:30" in tg.message(OLGA, prompt.message_id).text, timeout=6
        )
        assert list(prompt_buttons(tg, prompt.message_id)) == ["Change"]
        (entry,) = await entries(h)
        assert (entry.minutes, entry.billable, entry.client_key) == (30, True, "acme")
        await tg.wait_for(
            lambda: any("Time spent: 0:30 (Olga Sidorova)" in text for _, text in helpdesk.notes)
        )
        await tg.wait_for(lambda: helpdesk.times == [("1", 30)])  # the time field too


async def test_other_asks_by_reply_refuses_bad_input_and_accepts_russian(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, routing(), sqlite_url) as h:
        await close_assigned(h, "2")
        await tg.wait_for(
            lambda: any("How much time" in m.text for m in tg.messages(OLGA)), timeout=6
        )
        prompt = next(m for m in tg.messages(OLGA) if "How much time" in m.text)
        tg.press(OLGA, prompt.message_id, OLGA, prompt_buttons(tg, prompt.message_id)["other…"])
        await tg.wait_for(
            lambda: any("Reply to this message" in m.text for m in tg.messages(OLGA)), timeout=6
        )
        question = [m for m in tg.messages(OLGA) if "Reply to this message" in m.text][-1]
        tg.send_text(OLGA, OLGA, "a while", reply_to_message_id=question.message_id)
        await tg.wait_for(
            lambda: any("I could not read that." in m.text for m in tg.messages(OLGA)), timeout=6
        )
        again = [m for m in tg.messages(OLGA) if "I could not read that." in m.text][-1]
        tg.send_text(OLGA, OLGA, "0", reply_to_message_id=again.message_id)
        await tg.wait_for(
            lambda: any("Zero is not a time spent." in m.text for m in tg.messages(OLGA)),
            timeout=6,
        )
        zero = [m for m in tg.messages(OLGA) if "Zero is not" in m.text][-1]
        tg.send_text(OLGA, OLGA, "1ч 30м", reply_to_message_id=zero.message_id)
        await tg.wait_for(
            lambda: "Recorded: 1:30" in tg.message(OLGA, prompt.message_id).text, timeout=6
        )
        (entry,) = await entries(h)
        assert entry.minutes == 90


async def test_no_charge_change_and_the_package_alert_once(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, routing(), sqlite_url) as h:
        await close_assigned(h, "3")
        await tg.wait_for(
            lambda: any("How much time" in m.text for m in tg.messages(OLGA)), timeout=6
        )
        prompt = next(m for m in tg.messages(OLGA) if "How much time" in m.text)
        tg.press(
            OLGA,
            prompt.message_id,
            OLGA,
            prompt_buttons(tg, prompt.message_id)["no charge (our fault)"],
        )
        await tg.wait_for(
            lambda: "no charge" in tg.message(OLGA, prompt.message_id).text, timeout=6
        )
        tg.press(OLGA, prompt.message_id, OLGA, prompt_buttons(tg, prompt.message_id)["Change"])
        await tg.wait_for(lambda: "1h" in prompt_buttons(tg, prompt.message_id), timeout=6)
        tg.press(OLGA, prompt.message_id, OLGA, prompt_buttons(tg, prompt.message_id)["1h"])
        await tg.wait_for(
            lambda: "Recorded: 1:00" in tg.message(OLGA, prompt.message_id).text, timeout=6
        )
        (entry,) = await entries(h)
        assert (entry.minutes, entry.billable) == (60, True)
        # One hour of a one-hour package passes 80 % and 100 % at once: the manager gets
        # one message with the real figures (issue 17.14).
        await tg.wait_for(lambda: any("📦" in m.text for m in tg.messages(1001)), timeout=6)
        alerts = [m.text for m in tg.messages(1001) if "📦" in m.text]
        assert "1:00 of 1:00 h used (100%), 0:00 h left" in alerts[0]
