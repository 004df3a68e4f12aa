"""The client cabinet: server-rendered pages under ``/portal`` on Modest's HTTP server.

A web adapter beside ``bot/``: handlers parse the request, call the services of
``dispatch.portal`` and render a Jinja2 template (autoescaped). No scripts run in
the pages; a strict Content-Security-Policy and CSRF tokens on every form.
"""
