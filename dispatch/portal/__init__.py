"""The client cabinet's domain: client users and their sessions, what a client may see
of its tickets, reports and contract, and the requests a client makes.

The web adapter (``cabinet``) only parses, calls these services and renders.
Every read takes the signed-in user's client and finds nothing outside it.
"""
