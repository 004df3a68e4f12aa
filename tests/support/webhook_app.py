"""The service's real aiohttp app on an event loop of its own, for sync (hypothesis) tests.

Built by ``build_service`` as ``modest run`` builds it, with nothing started but the
HTTP routes: the database changes only through the request in hand.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlmodel import SQLModel

from config.routing import load_routing_text
from config.settings import load_settings
from connectors.fake_tracker import FakeTracker
from modest.app import ModestService, build_service
from storage.db import Database
from storage.migrate import upgrade
from tests.support.routing import ROUTING_YAML

T = TypeVar("T")
SECRET = "hook-secret-1"
REDMINE_SECRET = "redmine-secret-1"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HELPDESKEDDY = {
    "helpdeskeddy_url": "https://acme.helpdeskeddy.test/api/v2",
    "helpdeskeddy_email": "bot@acme.test",
    "helpdeskeddy_api_key": "hde-key",
}
RT = {"rt_url": "http://rt.test", "rt_token": "1-2-token"}
TRACKER_ROUTING = "tracker:\n  kind: redmine\n  project: dev\n"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status and decoded JSON body (None when not JSON)."""

    status: int
    body: Any


class WebhookApp:
    """The service's aiohttp app on an event loop of its own (hypothesis calls are sync)."""

    def __init__(self, db_url: str, *, routing: str = "", **settings: Any) -> None:
        self._db_url, self._routing, self._settings = db_url, routing, settings
        self._runner = asyncio.Runner()
        self.service: ModestService | None = None
        self._client: TestClient[Any, Any] | None = None

    def __enter__(self) -> WebhookApp:
        self._runner.run(self._start())
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._runner.run(self._stop())
        self._runner.close()

    async def _start(self) -> None:
        migrated = Database(self._db_url)
        await upgrade(migrated)
        await migrated.dispose()
        settings = load_settings(
            env_file=None,
            telegram_bot_token="1:x",
            telegram_api_base="http://127.0.0.1:9",  # never called: nothing is started
            database_url=self._db_url,
            helpdesk_webhook_secret=SECRET,
            bitrix24_app_token="tok",
            redmine_webhook_secret=REDMINE_SECRET,
            webhook_max_body_bytes=65_536,
            **self._settings,
        )
        routing = load_routing_text(ROUTING_YAML + self._routing, "routing.yaml")
        self.service = build_service(settings, routing, tracker=FakeTracker())
        self._client = TestClient(TestServer(self.service.web_app))
        await self._client.start_server()

    async def _stop(self) -> None:
        assert self._client is not None
        assert self.service is not None
        await self._client.close()
        await self.service.bot.session.close()
        await self.service.helpdesk.aclose()
        await self.service.database.dispose()

    def post(self, path: str, body: bytes, content_type: str, **headers: str) -> Answer:
        """POST ``body``; the answer's status and decoded JSON (None when not JSON)."""

        async def send() -> Answer:
            assert self._client is not None
            response = await self._client.post(
                path, data=body, headers={"Content-Type": content_type, **headers}
            )
            text = await response.text()
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            return Answer(response.status, decoded)

        return self._runner.run(send())

    def run(self, call: Callable[[ModestService], Awaitable[T]]) -> T:
        """Run ``call`` with the service on the app's loop."""
        assert self.service is not None
        service = self.service

        async def go() -> T:
            return await call(service)

        return self._runner.run(go())

    def send_raw(self, request: bytes) -> bytes:
        """Send ``request`` as bytes (headers no client would write); the status line."""

        async def send() -> bytes:
            assert self._client is not None
            port = self._client.server.port
            assert port is not None
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            status = await reader.readline()
            writer.close()
            await writer.wait_closed()
            return status

        return self._runner.run(send())

    def counts(self) -> dict[str, int]:
        """Rows per table."""

        async def count() -> dict[str, int]:
            assert self.service is not None
            async with self.service.database.unit_of_work() as uow:
                return {
                    table.name: (
                        await uow.session.execute(select(func.count()).select_from(table))
                    ).scalar_one()
                    for table in SQLModel.metadata.sorted_tables
                }

        return self._runner.run(count())

    def check(self, path: str, body: bytes, content_type: str, **headers: str) -> Answer:
        """POST and check the property; returns the answer for more checks."""
        before = self.counts()
        answer = self.post(path, body, content_type, **headers)
        assert answer.status < 500, answer
        if 400 <= answer.status < 500:
            assert isinstance(answer.body, dict), answer
            assert answer.body.get("error"), answer
            assert answer.body.get("field"), answer
            assert self.counts() == before, f"a refused body stored something: {answer}"
        else:
            assert isinstance(answer.body, dict), answer
            assert answer.body.get("status"), answer
        return answer


def as_json(value: Any) -> bytes:
    """JSON as a peer may send it: NaN, 1e400, \\ud800 escapes."""
    return json.dumps(value, allow_nan=True).encode()


def as_form(fields: Any) -> bytes:
    """A form body of a dict's items (anything else: an empty form)."""
    pairs = fields.items() if isinstance(fields, dict) else []
    return urlencode([(str(k), str(v)) for k, v in pairs], errors="surrogatepass").encode()
