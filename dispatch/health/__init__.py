"""Connector health: whether each connector works (``watch``), and the tickets a webhook
named that could not be read (``unreadable``)."""
