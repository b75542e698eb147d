"""Who may call what: device certificates, officer tokens and the access policy.

Sits between ``api/`` (which it guards) and ``serving/`` (which wires it in).
"""
