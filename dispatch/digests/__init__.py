"""Digests in the dispatch chat: one message that lists waiting tickets, a button each.

``board`` posts them (for reminders and for bursts alike) and brings a ticket's card up
from a button; ``burst`` decides when new cards would wait too long and lists them
instead; ``pace`` estimates when queued calls to a chat may go under Telegram's limits.
"""
