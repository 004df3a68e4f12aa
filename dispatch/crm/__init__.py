"""The CRM feature: who wrote, from which company, under which contract.

- ``lookup``: requesters and companies with their contracts, through a cache in the
  database (``crm.cache_ttl``);
- ``enrichment``: each new ticket's requester looked up by a job, the card edited once;
- ``cards``: the card's CRM block; ``clients``: clients billed by CRM contracts
  (``crm.clients_from_crm``); ``packages``: their package alerts;
- ``timeline``: a note on the company's timeline for each close with time recorded;
- ``feature``: how the parts are put together (``modest.domain`` calls it).
"""
