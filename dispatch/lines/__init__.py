"""Support lines: a ticket passed on from line N to line N+1.

Departments belong to a line (``departments[].line``: 1 classification and simple
questions, 2 experts, 3 development). The assignee's private message offers
"pass to line N+1": the specialist picks a department of the next line (and may
add a comment by reply), and the ticket goes back to dispatch for that line with
its history and its clocks running.
"""
