"""SLA clocks: the status model, the policies, the clocks and their warnings.

- ``stages``: the helpdesk's statuses onto the five stages (``config.sla.Stage``);
  a stage change is a ticket event.
- ``policies``: which targets a ticket gets (the first matching policy, the client's
  contract over it).
- ``clock``: counting time, around the clock or in working hours, and a clock's
  pause, stop and resumption.
- ``service``: the clocks follow the ticket's events (the subscriber).
- ``scan``: the periodic pass that warns before and tells at a breach, and ``/sla``.
- ``status``: a ticket's nearest target for cards and lists; ``outcomes``: targets met
  or missed, for reports; ``views``: what the adapters render.
"""
