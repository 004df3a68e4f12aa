"""Statistics for the head of support, from the ticket event log.

``period`` reads the periods people ask for, ``figures`` holds the typed figures,
``service`` computes them (through ``storage.stats_repository``), ``export`` writes
them as CSV, ``command`` answers ``/stats`` and its buttons, ``digest`` sends the
weekly digest and ``quality`` checks staff replies for forbidden words.
"""
