"""The Redmine connector against a real Redmine 5 on loopback.

``shared/services/redmine-up`` starts it once per session (idempotent: well under a
second when it already runs, about 30 s on a fresh machine) and prints
``REDMINE_URL`` and ``REDMINE_API_KEY`` (the admin's key; project ``dev``, where the
admin is a member). Without the script the tests are skipped; when it fails they
are skipped with its output, except under ``CI=true``, where they fail. Every
test uses subjects of its own and deletes its issues when it ends.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from connectors.base import PermanentError
from connectors.redmine import RedmineConnector
from connectors.trackers import TaskDraft
from tests.support.redmine import RedmineApi, RedmineServer


@pytest.fixture
async def connector(redmine_server: RedmineServer) -> AsyncIterator[RedmineConnector]:
    tracker = RedmineConnector(
        base_url=redmine_server.url, api_key=redmine_server.api_key, project="dev"
    )
    yield tracker
    await tracker.aclose()


def subject(what: str) -> str:
    return f"modest-test {what} {uuid.uuid4().hex[:8]}"


async def test_task_round_trip_comments_and_completion(
    connector: RedmineConnector, redmine_api: RedmineApi, redmine_server: RedmineServer
) -> None:
    admin = str((await redmine_api.get("/users/current.json"))["user"]["id"])
    draft = TaskDraft(subject("round trip"), "Ticket #42: printer on fire", admin, None)
    task = await connector.create_task(draft)
    redmine_api.created.append(task.external_id)
    assert (task.assignee_ref, task.closed) == (admin, False)
    assert task.url == f"{redmine_server.url}/issues/{task.external_id}"
    stored = (await redmine_api.get(f"/issues/{task.external_id}.json"))["issue"]
    assert (stored["subject"], stored["project"]["name"]) == (draft.title, "Dev")

    mine = await connector.add_comment(task.external_id, "Client is waiting\nsince Monday")
    await redmine_api.update(task.external_id, notes="Found it, fixing")  # the developer
    comments = await connector.list_comments(task.external_id)
    assert [(c.text, c.author_ref) for c in comments] == [
        ("Client is waiting\nsince Monday", admin),
        ("Found it, fixing", admin),
    ]
    assert comments[0].external_id == mine
    assert int(comments[1].external_id) > int(mine)
    assert all(c.created_at is not None for c in comments)

    opened, closed = await redmine_api.status_ids()
    await redmine_api.update(task.external_id, status_id=closed)  # the developer is done
    done = await connector.get_task(task.external_id)
    assert done.closed
    assert done.updated_at is not None
    reopened = await connector.set_status(task.external_id, opened)
    assert not reopened.closed
    assert not (await connector.get_task(task.external_id)).closed
    # Status changes are journals too, but without notes they are no comments.
    assert len(await connector.list_comments(task.external_id)) == 2


async def test_silent_204_and_refusals_are_permanent(
    connector: RedmineConnector, redmine_api: RedmineApi, redmine_server: RedmineServer
) -> None:
    task = await connector.create_task(TaskDraft(subject("refusals"), "", None, None))
    redmine_api.created.append(task.external_id)
    assert task.assignee_ref is None
    statuses = (await redmine_api.get("/issue_statuses.json"))["issue_statuses"]
    missing_status = max(s["id"] for s in statuses) + 100
    # Redmine answers 204 to an unknown status and keeps the old one.
    with pytest.raises(PermanentError, match="not applied"):
        await connector.set_status(task.external_id, missing_status)
    with pytest.raises(PermanentError, match="HTTP 422: Assignee is invalid"):
        await connector.create_task(TaskDraft(subject("bad assignee"), "", "999999", None))
    with pytest.raises(PermanentError, match="HTTP 404"):
        await connector.get_task("999999999")
    stranger = RedmineConnector(base_url=redmine_server.url, api_key="0" * 40, project="dev")
    try:
        with pytest.raises(PermanentError, match="HTTP 401"):
            await stranger.add_comment(task.external_id, "who am I")
    finally:
        await stranger.aclose()
