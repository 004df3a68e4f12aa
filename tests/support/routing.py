"""The routing file most tests share: two departments, four people."""

from __future__ import annotations

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
