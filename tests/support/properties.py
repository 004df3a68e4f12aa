"""Hypothesis strategies for outside input: JSON as ``json.loads`` gives it, dates, forms.

Everything a peer can send is fair game: JSON's ``NaN`` and ``1e400`` (Python reads
them as floats), ``\\ud800`` escapes (lone surrogates), NUL characters, dates at the
ends of the calendar, numbers with hundreds of digits. The shaped strategies keep
close to a valid body so that the properties reach past the first check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

__all__ = [
    "EVENTS",
    "bitrix24_forms",
    "dates",
    "durations",
    "examples",
    "generic_bodies",
    "helpdeskeddy_fields",
    "helpdeskeddy_tickets",
    "ids",
    "iso_dates",
    "json_values",
    "maybe",
    "near",
    "redmine_bodies",
    "rt_tickets",
    "texts",
]

#: Any character, lone surrogates included (a JSON ``\\ud800`` escape decodes to one).
_ANY_CHAR = st.characters(exclude_categories=())
#: The characters that break things: NUL, a lone surrogate, controls, RTL override, astral.
_NASTY = st.sampled_from(["a", "\x00", "\ud800", "\udfff", "\x1b", "\u202e", "😀", "é", " ", "\n"])
texts = st.one_of(
    st.text(max_size=30),
    st.text(_NASTY, min_size=1, max_size=6),
    st.text(_ANY_CHAR, max_size=12),
    st.sampled_from(["", " ", "\x00", "\ud800", "0", "-1", "1e400", "NaN", "../x", "<b>"]),
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(),  # NaN and both infinities included
    texts,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=10,
)
#: UTC offsets in whole minutes (what ISO 8601 and the helpdesks write).
_offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_moments = st.one_of(
    st.datetimes(timezones=st.none() | _offsets),
    st.sampled_from([datetime.min, datetime.max]).flatmap(
        lambda edge: _offsets.map(lambda zone: edge.replace(tzinfo=zone))
    ),
)
iso_dates = _moments.map(datetime.isoformat)
#: Dates as helpdesks spell them, at any point of the calendar, and things that are not.
dates = st.one_of(
    iso_dates,
    _moments.map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
    _moments.map(lambda moment: moment.strftime("%d.%m.%Y %H:%M")),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    texts,
)
#: Ids: plausible ones, and everything else.
ids = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    st.integers(min_value=1, max_value=10**6).map(str),
    st.from_regex(r"\A[0-9]{15,40}\Z"),
    json_values,
)
_good_ids = st.integers(min_value=1, max_value=10**6)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a valid value, sometimes any JSON value."""
    return st.one_of(valid, valid, json_values)


def near(
    valid: Mapping[str, st.SearchStrategy[Any]],
    wild: Mapping[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A body of valid fields, up to two of them left out or swapped for wild values.

    Most checks of a body only run once the fields before them pass, so a body
    that is wrong everywhere stops at the first; this one gets past them.
    """
    wild = wild or {}

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        body = {key: draw(strategy) for key, strategy in valid.items()}
        changed = draw(st.lists(st.sampled_from(sorted(valid)), max_size=2, unique=True))
        for key in changed:
            how = draw(st.sampled_from(["drop", "any", "wild"]))
            if how == "drop":
                del body[key]
            else:
                body[key] = draw(wild.get(key, json_values) if how == "wild" else json_values)
        return body

    return build()


EVENTS = st.sampled_from(["ticket.created", "created", "ticket.updated", "closed", "CLOSED "])
#: Text a valid body may hold, NUL and controls included (no lone surrogates).
_valid_texts = st.one_of(
    st.text(max_size=30),
    st.text(st.sampled_from(["a", "\x00", "\x1b", "\u202e", "😀", " "]), min_size=1, max_size=6),
)
#: Short texts up to a column's 64 characters; the wild ones go past it.
_short = st.one_of(_valid_texts, st.text(min_size=60, max_size=64))
_too_long = st.text(min_size=65, max_size=210)
_generic_ticket = near(
    {
        "id": st.one_of(_good_ids, _good_ids.map(str), st.text("x", min_size=64, max_size=64)),
        "subject": _valid_texts,
        "number": _short,
        "body": _valid_texts,
        "status": _short,
        "priority": _short,
        "type": _short,
        "department": st.one_of(_good_ids.map(str), _short),
        "assignee": st.one_of(_good_ids.map(str), _short),
        "closed": st.booleans(),
        "client": st.fixed_dictionaries(
            {"name": _valid_texts, "email": _valid_texts, "company": _valid_texts}
        ),
        "url": st.just("https://help.example/t/1"),
        "created_at": iso_dates,
    },
    {
        "id": st.one_of(ids, _too_long),
        "subject": texts,
        "number": _too_long,
        "status": _too_long,
        "department": _too_long,
        "url": st.sampled_from(["http://[", "ftp://x", "https:"]),
    },
)
#: Generic webhook bodies: near valid ones, and any JSON at all.
_generic_near = near(
    {"event": EVENTS, "ticket": _generic_ticket, "delivery_id": _valid_texts},
    {"delivery_id": texts},
)
generic_bodies = st.one_of(_generic_near, _generic_near, _generic_near, json_values)
#: HelpDeskEddy (and RT scrip) bodies: ticket_id, event, delivery_id.
helpdeskeddy_fields = st.one_of(
    near(
        {"ticket_id": _good_ids.map(str), "event": EVENTS, "delivery_id": _valid_texts},
        {"ticket_id": ids, "event": texts, "delivery_id": texts},
    ),
    st.dictionaries(texts, json_values, max_size=4),
)
_bitrix_keys = st.sampled_from(
    [
        "event",
        "auth[application_token]",
        "data[FIELDS_AFTER][ID]",
        "data[FIELDS_AFTER][TASK_ID]",
        "data[FIELDS_AFTER][MESSAGE_ID]",
        "data[FIELDS_BEFORE][ID]",
    ]
)
_bitrix_values = st.one_of(
    st.sampled_from(["ONTASKUPDATE", "ONTASKCOMMENTADD", "tok", "0", "7"]), texts
)
#: Bitrix24 event forms (the application token is "tok").
bitrix24_forms = st.dictionaries(st.one_of(_bitrix_keys, texts), _bitrix_values, max_size=6)
#: Redmine webhook bodies: ``{"data": {"issue": {"id": ...}}}`` near valid, and any JSON.
redmine_bodies = st.one_of(
    near({"data": near({"issue": near({"id": _good_ids}, {"id": ids})})}),
    json_values,
)
#: Ticket objects as HelpDeskEddy's API answers them, near valid.
helpdeskeddy_tickets = near(
    {
        "id": st.integers(min_value=1, max_value=10**6),
        "unique_id": _short,
        "title": _valid_texts,
        "status_id": st.one_of(st.sampled_from(["open", "closed"]), _too_long),
        "department_id": st.integers(min_value=0, max_value=9),
        "owner_id": st.integers(min_value=0, max_value=9),
        "user_name": texts,
        "user_email": texts,
        "date_created": dates,
        "date_updated": dates,
    }
)
#: Tickets as an RT search answers them, near valid.
rt_tickets = near(
    {
        "id": st.integers(min_value=1, max_value=10**6).map(str),
        "Subject": _valid_texts,
        "Status": st.sampled_from(["new", "open", "resolved", "deleted"]),
        "Queue": st.fixed_dictionaries({"Name": st.one_of(texts, _too_long)}),
        "Owner": st.fixed_dictionaries({"Name": texts, "id": ids}),
        "Requestor": st.lists(st.dictionaries(texts, json_values, max_size=3), max_size=2),
        "Created": dates,
        "LastUpdated": dates,
    }
)
#: Typed durations: near the accepted forms (with very long numbers too), and any text.
durations = st.one_of(
    texts,
    st.from_regex(
        r"\A\s*[0-9]{1,4}([.,][0-9]{0,3})?\s*(h|ч|час|m|мин|:)?\s*[0-9]{0,3}\s*(m|м)?\Z"
    ),
    st.tuples(
        st.integers(min_value=0, max_value=10**400), st.sampled_from(["", "h", "m", " ч", ".5h"])
    ).map(lambda parts: f"{parts[0]}{parts[1]}"),
)


def examples(count: int) -> settings:
    """The loaded profile, with at most ``count`` examples (an expensive property)."""
    return settings(max_examples=min(count, settings.default.max_examples))
