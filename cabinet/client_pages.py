"""Reports, the contract with its "change tariff" form, and the account page."""

from __future__ import annotations

import re

from aiohttp import web

from cabinet.pages import (
    current,
    disposition,
    drop_session_cookie,
    redirect,
    render,
    services,
    signed_in,
    texts,
    user,
)
from dispatch.portal.models import PortalError

_REPORT_FILE = re.compile(r"^(\d{4}-\d{2})\.(pdf|csv)$")
_LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


async def reports(request: web.Request) -> web.Response:
    """``/portal/reports``: every issued monthly report, newest first."""
    issued = await services(request).contract.reports(user(request).client_key)
    return render(request, "reports.html", reports=issued)


async def report_file(request: web.Request) -> web.Response:
    """An issued report: the PDF opens in the browser, the CSV downloads."""
    match = _REPORT_FILE.match(request.match_info["name"])
    if match is None:
        raise web.HTTPNotFound
    month, kind = match.groups()
    me = user(request)
    data = await services(request).contract.report(me.client_key, month, kind, me.language)
    if data is None:
        raise web.HTTPNotFound
    filename = f"{me.client_key}-{month}.{kind}"
    how = "inline" if kind == "pdf" else "attachment"
    return web.Response(
        body=data,
        content_type="application/pdf" if kind == "pdf" else "text/csv",
        charset="utf-8" if kind == "csv" else None,
        headers={
            "Content-Disposition": disposition(how, filename),
            # The browser's own PDF viewer shows this response: only framing is refused.
            "Content-Security-Policy": "frame-ancestors 'none'",
        },
    )


async def contract(request: web.Request) -> web.Response:
    """``/portal/contract``: the terms, this month's hours, the personal manager."""
    terms = await services(request).contract.contract(user(request).client_key)
    return render(request, "contract.html", contract=terms, error=None, text="")


async def tariff(request: web.Request) -> web.Response:
    """The "change tariff" form: the text goes to the manager in Telegram."""
    form = await request.post()
    text = form.get("text")
    text = text[:5000] if isinstance(text, str) else ""
    service = services(request).contract
    try:
        await service.request_tariff_change(user(request), text)
    except PortalError as exc:
        terms = await service.contract(user(request).client_key)
        error = texts(request)(exc.reason)
        return render(request, "contract.html", status=400, contract=terms, error=error, text=text)
    return render(request, "tariff_sent.html")


async def account(request: web.Request) -> web.Response:
    """``/portal/account``: name, e-mail, language, password, sessions."""
    notice = texts(request)("Saved.") if request.query.get("saved") == "1" else None
    return await _account(request, notice=notice, error=None)


async def _account(
    request: web.Request, *, notice: str | None, error: str | None, status: int = 200
) -> web.Response:
    sessions = await services(request).accounts.sessions(signed_in(request))
    return render(
        request,
        "account.html",
        status=status,
        sessions=sessions,
        languages=_LANGUAGE_NAMES,
        notice=notice,
        error=error,
    )


async def profile(request: web.Request) -> web.Response:
    """Change the name and the language."""
    form = await request.post()
    name, lang = form.get("name"), form.get("language")
    try:
        await services(request).accounts.update_profile(
            signed_in(request),
            name=name if isinstance(name, str) else "",
            language=lang if isinstance(lang, str) else "",
        )
    except PortalError as exc:
        return await _account(request, notice=None, error=texts(request)(exc.reason), status=400)
    return redirect("/portal/account?saved=1")


async def password(request: web.Request) -> web.Response:
    """Change the password; the other sessions end."""
    form = await request.post()
    values = {name: form.get(name) for name in ("current", "new", "new2")}
    given = {name: v if isinstance(v, str) else "" for name, v in values.items()}
    t = texts(request)
    try:
        if given["new"] != given["new2"]:
            raise PortalError("The passwords do not match.")
        await services(request).accounts.change_password(
            signed_in(request), given["current"], given["new"]
        )
    except PortalError as exc:
        return await _account(request, notice=None, error=t(exc.reason), status=400)
    return await _account(request, notice=t("The password is changed."), error=None)


async def sign_out_everywhere(request: web.Request) -> web.Response:
    """End every session of the user, this one too."""
    session = current(request)
    if session is not None:
        await services(request).accounts.sign_out_everywhere(session)
    response = redirect("/portal/login")
    drop_session_cookie(response)
    return response
