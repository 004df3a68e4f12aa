"""Which deliveries count as the same one."""

from __future__ import annotations

from modest.web import FETCH_DEDUPE_SECONDS, delivery_key


def test_an_id_wins_and_a_full_body_is_its_own_key() -> None:
    assert delivery_key("d-1", b"x") == delivery_key("d-1", b"y")
    assert delivery_key(None, b"x") == delivery_key(None, b"x")
    assert delivery_key(None, b"x") != delivery_key(None, b"y")


def test_a_body_that_only_names_a_ticket_repeats_only_for_a_few_minutes() -> None:
    start = 1_800_000_000.0 - 1_800_000_000.0 % FETCH_DEDUPE_SECONDS
    first = delivery_key(None, b'{"ticket_id": 7}', fetch_at=start + 1)
    assert delivery_key(None, b'{"ticket_id": 7}', fetch_at=start + 300) == first
    later = delivery_key(None, b'{"ticket_id": 7}', fetch_at=start + FETCH_DEDUPE_SECONDS + 1)
    assert later != first, "the next update about the ticket is fetched again"
