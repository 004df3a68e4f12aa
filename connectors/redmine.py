"""Redmine issues as developer tasks: create, read, comment (journal notes), read notes.

Facts this relies on (``shared/reference/redmine-rest.md``, each checked against
Redmine 5.0.4): ``X-Redmine-API-Key`` authenticates; ``POST /issues.json`` answers
201 with the issue; ``PUT /issues/{id}.json`` answers 204 with no body, also when
it changed nothing (an unknown or disallowed ``status_id`` is ignored), so writes
are read back; notes are journals of ``GET /issues/{id}.json?include=journals``,
stored verbatim; status ids differ per installation, so "closed" is the
``is_closed`` of ``GET /issue_statuses.json``, read once and cached; 401 bad key,
404 missing or invisible, 422 ``{"errors": [...]}``. Redmine 7 webhooks sign the
raw body: ``X-Redmine-Signature-256: sha256=<hex HMAC-SHA256>``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Generator, Mapping
from datetime import UTC, datetime
from typing import ClassVar

import httpx
import structlog

from connectors.base import ConnectorError, PermanentError, client_error
from connectors.http import classified_request, transient_retries, with_retries
from connectors.plugin import Capabilities
from connectors.ratelimit import RequestBudget
from connectors.trackers import TaskDraft, TrackerComment, TrackerConnector, TrackerTask

__all__ = ["RedmineConnector", "parse_redmine_datetime", "verify_webhook"]

log = structlog.get_logger(__name__)

_MAX_ERROR_TEXT = 300
_SIGNATURE_PREFIX = "sha256="
#: An unknown status id re-reads the status list, at most this often (seconds).
_STATUS_REFRESH = 300.0

JsonObject = dict[str, object]


def verify_webhook(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``X-Redmine-Signature-256`` is ``sha256=`` + the HMAC-SHA256 hex of ``body``.

    ``body`` must be the raw request body, before any JSON parsing. No secret or
    no signature is never valid. The comparison takes constant time.
    """
    if not secret or not signature:
        return False
    given = signature.strip()
    if given[: len(_SIGNATURE_PREFIX)].lower() != _SIGNATURE_PREFIX:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # surrogatepass: aiohttp hands undecodable header bytes over as surrogates.
    given_hex = given[len(_SIGNATURE_PREFIX) :].lower().encode(errors="surrogatepass")
    return hmac.compare_digest(given_hex, expected.encode())


def parse_redmine_datetime(value: object) -> datetime | None:
    """A Redmine timestamp (ISO 8601, UTC) as an aware datetime; None when unset."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value) if isinstance(value, str | int | float) else ""


def _ref(record: object) -> str | None:
    """The id of a ``{"id", "name"}`` record; None when absent (Redmine omits unassigned)."""
    value = record.get("id") if isinstance(record, dict) else None
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _same_note(stored: str, sent: str) -> bool:
    return stored.replace("\r\n", "\n").strip() == sent.replace("\r\n", "\n").strip()


def _issue_id(value: str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdecimal()) or int(text) <= 0:
        raise PermanentError(f"a Redmine issue id must be a positive integer: {value!r}")
    return int(text)


def _user_id(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdecimal()) or int(text) <= 0:
        raise PermanentError(f"assignee_ref must be a Redmine user id: {value!r}")
    return int(text)


class _ApiKeyAuth(httpx.Auth):
    """Adds ``X-Redmine-API-Key`` per request, so the key is in no client header dict."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return "_ApiKeyAuth([secure])"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Redmine-API-Key"] = self._api_key
        yield request


class RedmineConnector(TrackerConnector):
    """A Redmine instance reached through its REST API.

    ``project`` (identifier or id) and ``tracker_id`` apply to new issues unless the
    draft names a project. ``assignee_ref`` is a user id; the author is the API
    key's owner (``creator_ref`` is not used). ``budget`` may be shared or injected.
    """

    slug: ClassVar[str] = "redmine"
    title: ClassVar[str] = "Redmine"
    capabilities: ClassVar[Capabilities] = Capabilities(accepts_events=True)

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        project: str | None = None,
        tracker_id: int | None = None,
        max_requests_per_minute: int = 120,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RequestBudget | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
    ) -> None:
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        if not base_url.strip() or not api_key:
            raise ValueError("Redmine needs a base URL and an API key")
        self._root = base_url.strip().rstrip("/")
        self._project = project
        self._tracker_id = tracker_id
        self._budget = budget if budget is not None else RequestBudget(max_requests_per_minute)
        self._retrying = transient_retries(retry_attempts, retry_wait)
        self._closed_statuses: dict[int, bool] | None = None
        self._statuses_read_at = 0.0
        self._clock: Callable[[], float] = time.monotonic
        self._client = httpx.AsyncClient(
            base_url=f"{self._root}/",
            auth=_ApiKeyAuth(api_key),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def check_access(self) -> None:
        """``GET /users/current.json``: who the API key belongs to."""
        await self._call("GET", "users/current.json")

    async def create_task(self, draft: TaskDraft) -> TrackerTask:
        """``POST /issues.json`` in the draft's project (else the configured one)."""
        project = draft.project or self._project
        if not project:
            raise PermanentError("no Redmine project: set redmine_project or the draft's project")
        issue: JsonObject = {
            "project_id": project,
            "subject": draft.title,
            "description": draft.description,
        }
        if self._tracker_id is not None:
            issue["tracker_id"] = self._tracker_id
        if draft.assignee_ref is not None:
            issue["assigned_to_id"] = _user_id(draft.assignee_ref)
        answer = await self._call("POST", "issues.json", payload={"issue": issue})
        return await self._task(self._issue_of(answer))

    async def get_task(self, external_id: str) -> TrackerTask:
        """``GET /issues/{id}.json``."""
        return await self._task(await self._issue(_issue_id(external_id)))

    async def list_comments(self, external_id: str) -> list[TrackerComment]:
        """Journals that carry notes (status-only changes are left out), oldest first."""
        issue = await self._issue(_issue_id(external_id), journals=True)
        journals = issue.get("journals")
        comments = []
        for journal in journals if isinstance(journals, list) else []:
            if not isinstance(journal, dict) or not _text(journal.get("notes")).strip():
                continue
            user = journal.get("user")
            comments.append(
                TrackerComment(
                    external_id=_text(journal.get("id")),
                    author_ref=_ref(user),
                    author_name=_text(user.get("name")) if isinstance(user, dict) else "",
                    text=_text(journal.get("notes")).replace("\r\n", "\n").strip(),
                    created_at=parse_redmine_datetime(journal.get("created_on")),
                )
            )
        return sorted(
            comments, key=lambda c: int(c.external_id) if c.external_id.isdecimal() else 0
        )

    async def add_comment(self, external_id: str, text: str) -> str:
        """Add a note; Redmine answers 204 without its id, so the journals are read back."""
        if not text.strip():
            raise PermanentError("a comment needs some text")
        issue_id = _issue_id(external_id)
        await self._call("PUT", f"issues/{issue_id}.json", payload={"issue": {"notes": text}})
        issue = await self._issue(issue_id, journals=True)
        journals = issue.get("journals")
        ids = [
            journal["id"]
            for journal in (journals if isinstance(journals, list) else [])
            if isinstance(journal, dict)
            and isinstance(journal.get("id"), int)
            and _same_note(_text(journal.get("notes")), text)
        ]
        if not ids:
            raise PermanentError(f"Redmine issue {issue_id}: answered 204 but recorded no note")
        return str(max(ids))

    async def set_status(self, external_id: str, status_id: int) -> TrackerTask:
        """Set the issue's status and read it back: a refused change is a PermanentError.

        Redmine answers 204 even when the workflow does not allow the transition
        for the API user's role, or the status does not exist, and keeps the old one.
        """
        issue_id = _issue_id(external_id)
        payload: JsonObject = {"issue": {"status_id": status_id}}
        await self._call("PUT", f"issues/{issue_id}.json", payload=payload)
        issue = await self._issue(issue_id)
        status = issue.get("status")
        now = status.get("id") if isinstance(status, dict) else None
        if now != status_id:
            raise PermanentError(
                f"Redmine issue {issue_id}: status {status_id} not applied (still {now}); "
                "the workflow does not allow it for this user, or the status does not exist"
            )
        return await self._task(issue)

    async def _issue(self, issue_id: int, *, journals: bool = False) -> JsonObject:
        params = (("include", "journals"),) if journals else ()
        return self._issue_of(await self._call("GET", f"issues/{issue_id}.json", params=params))

    @staticmethod
    def _issue_of(answer: JsonObject) -> JsonObject:
        issue = answer.get("issue")
        if not isinstance(issue, dict):
            raise PermanentError("Redmine answered without an issue")
        return issue

    async def _task(self, issue: Mapping[str, object]) -> TrackerTask:
        issue_id = issue.get("id")
        if not isinstance(issue_id, int) or isinstance(issue_id, bool):
            raise PermanentError("Redmine answered an issue without a numeric id")
        status = issue.get("status")
        status = status if isinstance(status, dict) else {}
        return TrackerTask(
            external_id=str(issue_id),
            url=f"{self._root}/issues/{issue_id}",
            status=_text(status.get("name")),
            closed=await self._is_closed(status),
            assignee_ref=_ref(issue.get("assigned_to")),
            updated_at=parse_redmine_datetime(issue.get("updated_on")),
        )

    async def _is_closed(self, status: Mapping[str, object]) -> bool:
        """The status's ``is_closed`` from /issue_statuses.json; a new id re-reads the list."""
        status_id = status.get("id")
        if not isinstance(status_id, int):
            return False
        stale = self._clock() - self._statuses_read_at >= _STATUS_REFRESH
        if self._closed_statuses is None or (status_id not in self._closed_statuses and stale):
            await self._load_statuses()
        known = self._closed_statuses or {}
        if status_id in known:
            return known[status_id]
        # Not listed (a status added since): the issue's own flag, where Redmine sends it.
        return status.get("is_closed") is True

    async def _load_statuses(self) -> None:
        answer = await self._call("GET", "issue_statuses.json")
        self._statuses_read_at = self._clock()
        statuses = answer.get("issue_statuses")
        self._closed_statuses = {
            item["id"]: item.get("is_closed") is True
            for item in (statuses if isinstance(statuses, list) else [])
            if isinstance(item, dict) and isinstance(item.get("id"), int)
        }
        log.debug("redmine.statuses_loaded", count=len(self._closed_statuses))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: tuple[tuple[str, str], ...] = (),
        payload: JsonObject | None = None,
    ) -> JsonObject:
        """One API call; transient failures other than 429 are retried with back-off."""

        def failed(number: int, exc: ConnectorError) -> None:
            # The request line and the outcome only: never headers or bodies.
            log.warning("redmine.request_failed", attempt=number, reason=str(exc))

        return await with_retries(
            self._retrying, lambda _n: self._send(method, path, params, payload), on_error=failed
        )

    async def _send(
        self,
        method: str,
        path: str,
        params: tuple[tuple[str, str], ...],
        payload: JsonObject | None,
    ) -> JsonObject:
        """One HTTP request through the budget, mapped to a JSON object or an error."""
        where = f"Redmine {method} /{path}"
        await self._budget.acquire()
        response, body = await classified_request(
            self._client, method, path, where=where, params=params, json=payload
        )
        where = f"{where}: HTTP {response.status_code}"
        if not response.is_success:
            errors = body.get("errors") if isinstance(body, dict) else None
            detail = "; ".join(_text(e) for e in errors) if isinstance(errors, list) else ""
            text = f"{where}: {detail[:_MAX_ERROR_TEXT]}" if detail else where
            raise client_error(response.status_code, text)
        if not isinstance(body, dict):
            # A wrong REDMINE_URL often lands on an HTML page that answers 200.
            raise PermanentError(f"{where}: answer is not a JSON object")
        return body
