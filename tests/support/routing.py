"""The routing file most tests share: two departments, four people; and its variants."""

from __future__ import annotations

from config.routing import RoutingConfig, load_routing_text

ROUTING_YAML = """\
timezone: Europe/Moscow
language: en
dispatch:
  chat_id: -1001234567890
departments:
  - key: support
    name: Support
    helpdesk_id: 1
    members: [ivan, olga]
  - key: dev
    name: Development
    helpdesk_id: 2
    members: [petr]
people:
  - key: ivan
    name: Ivan Petrov
    telegram_id: 1001
    helpdesk_id: 11
    roles: [dispatcher, specialist]
  - key: olga
    name: Olga Sidorova
    telegram_id: 1002
    helpdesk_id: 12
    roles: [dispatcher, specialist]
  - key: petr
    name: Petr Ivanov
    telegram_id: 1003
    helpdesk_id: 13
    roles: [developer]
  - key: anna
    name: Anna Smirnova
    telegram_id: 1004
    roles: [specialist]
"""


#: A client with an hour budget and a rate, for time tracking.
CLIENTS = """clients:
  - key: acme
    name: Acme LLC
    match: {companies: [Acme]}
    hours_per_month: 1
    hour_rate: 2500
    manager: ivan
"""

#: Redmine as the tracker of developer tasks.
TRACKER = "tracker:\n  kind: redmine\n  project: dev\n  done_status: process\n"


def time_routing() -> RoutingConfig:
    """The shared routing plus a client with an hour budget."""
    return load_routing_text(ROUTING_YAML + CLIENTS, "routing.yaml")


def dev_task_routing() -> RoutingConfig:
    """The shared routing with Redmine as the tracker and Petr's Redmine id."""
    text = ROUTING_YAML.replace(
        "    helpdesk_id: 13\n    roles: [developer]",
        "    helpdesk_id: 13\n    redmine_id: 5\n    roles: [developer]",
    )
    return load_routing_text(text + TRACKER, "routing.yaml")
