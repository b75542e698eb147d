"""Tests of the identity tools: certs init, token issue and the clients' TLS flags."""
