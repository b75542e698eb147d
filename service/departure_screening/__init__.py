"""Departure screening: non-procedural migrant-worker risk indicators for departure checkpoints.

The folders are the architecture; each imports only from the floors below it
(checked by ``lint-imports``, contract in ``pyproject.toml``):

- ``cli``: the ``depscreen`` command;
- ``audit``, ``bench/``, ``exercise/``: the commands' own work;
- ``serving/``: configuration, the composition root, the gRPC server, the supervisor;
- ``api/``: the servicer, translating proto to domain and domain errors to status codes;
- ``metrics``: every Prometheus metric, behind the observer protocol;
- ``pipeline/``: one screening from request to durable commit;
- ``store/``: the store's port and its SQLite, PostgreSQL and in-memory backends;
- ``screening/``: the ruleset, the facts, the engine and the score;
- ``privacy/``: pseudonyms and masks;
- ``domain``, ``errors``, ``ids``, ``countries``, ``v1/``: plain values and generated code.
"""

__version__ = "0.1.0"
