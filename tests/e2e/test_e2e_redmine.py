"""Developer tasks against a real Redmine: created from the bot, notes and closing flow back."""

from __future__ import annotations

from sqlmodel import select

from config.routing import RoutingConfig, load_routing_text
from connectors.fake import FakeHelpdesk
from storage.models import DevTaskRow
from tests.support.buttons import press_labelled as press
from tests.support.buttons import wait_message
from tests.support.dispatching import OLGA
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.redmine import RedmineApi, RedmineServer
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator


def routing(developer_id: int) -> RoutingConfig:
    text = ROUTING_YAML.replace(
        "    helpdesk_id: 13\n    roles: [developer]",
        f"    helpdesk_id: 13\n    redmine_id: {developer_id}\n    roles: [developer]",
    )
    tracker = "tracker:\n  kind: redmine\n  project: dev\n  done_status: process\n"
    return load_routing_text(text + tracker, "routing.yaml")


async def linked_issue(h: Harness) -> str:
    async with h.service.database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(DevTaskRow))).scalars().all()
    assert len(rows) == 1
    return rows[0].external_id


async def test_a_task_created_from_the_bot_brings_notes_and_closing_back(
    tg: TelegramEmulator,
    sqlite_url: str,
    redmine_server: RedmineServer,
    redmine_api: RedmineApi,
) -> None:
    admin = (await redmine_api.get("/users/current.json"))["user"]["id"]
    helpdesk = FakeHelpdesk()
    async with running_modest(
        tg,
        routing(admin),
        sqlite_url,
        helpdesk=helpdesk,
        redmine_url=redmine_server.url,
        redmine_api_key=redmine_server.api_key,
    ) as h:
        await h.post_generic(ticket_body("1", assignee="12", subject="Export to 1C fails"))
        handed = await wait_message(tg, OLGA, "A ticket for you")
        press(tg, OLGA, handed, "Developer task")
        question = await wait_message(tg, OLGA, "What should the developer do?")
        press(tg, OLGA, question, "Use the ticket text")
        pick = await wait_message(tg, OLGA, "Who should do it?")
        press(tg, OLGA, pick, "Petr Ivanov")
        await tg.wait_for(
            lambda: any("Developer task created" in t for _, t in helpdesk.notes), timeout=15
        )
        issue_id = await linked_issue(h)
        redmine_api.created.append(issue_id)
        issue = (await redmine_api.get(f"/issues/{issue_id}.json"))["issue"]
        assert issue["subject"] == "[#A-1] Export to 1C fails"
        assert issue["assigned_to"]["id"] == admin
        dev = (await redmine_api.get("/projects/dev.json"))["project"]
        assert issue["project"]["id"] == dev["id"]

        await redmine_api.update(issue_id, notes="Fixed in build 42, please check")
        sync = h.service.domain.dev_sync
        await sync.sync_open()
        await sync.sync_open()
        carried = [t for _, t in helpdesk.notes if "Fixed in build 42" in t]
        assert len(carried) == 1, helpdesk.notes
        await wait_message(tg, OLGA, "Fixed in build 42")

        _, closed = await redmine_api.status_ids()
        await redmine_api.update(issue_id, status_id=closed)
        await sync.sync_open()
        await wait_message(tg, OLGA, "Developer task done — answer the client")
        await tg.wait_for(lambda: helpdesk.statuses == [("1", "process")])
