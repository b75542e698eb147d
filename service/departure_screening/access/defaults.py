"""Names shared by the tools that issue identities and the server that checks them."""

from __future__ import annotations

# The SPIFFE trust domain of device certificates.
DEFAULT_TRUST_DOMAIN = "imigrasi.go.id"
# `iss` and `aud` of officer tokens, as the directorate's identity provider sets them.
DEFAULT_ISSUER = "https://sso.imigrasi.go.id"
DEFAULT_AUDIENCE = "departure-screening"
# Lifetime of a token from `depscreen token issue`: one shift at the counter.
DEFAULT_TOKEN_TTL = "8h"
