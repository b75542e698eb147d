"""Identity and access: device certificates, officer tokens, the access policy."""
