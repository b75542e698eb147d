"""Fuzz target: bytes → a client certificate (PEM, or DER armoured) → ``device_from_pem``.

Input that starts like PEM is taken as it is; anything else is taken as DER and wrapped in
PEM armour, so libFuzzer's bit flips of the committed certificates reach the ASN.1 and the
extension parsing under the identity code. The answer must be a ``Device`` that names a
role and checkpoint this service knows, or ``IdentityError``; any other exception, or a
hang, is a crash.
"""

from __future__ import annotations

import base64

from departure_screening.access.identity import (
    CHECKPOINT_ROLES,
    NATIONAL_ROLES,
    IdentityError,
    device_from_pem,
)

NAME = "device_certificate"
TRUST_DOMAIN = "imigrasi.go.id"
CHECKPOINTS = frozenset({"CGK", "DPS"})


def pem_of(data: bytes) -> bytes:
    if data.lstrip().startswith(b"-----BEGIN"):
        return data
    body = base64.encodebytes(data)
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


def TestOneInput(data: bytes) -> None:
    try:
        device = device_from_pem(pem_of(data), TRUST_DOMAIN, CHECKPOINTS)
    except IdentityError:
        return
    if not device.spiffe_id.startswith(f"spiffe://{TRUST_DOMAIN}/"):
        raise AssertionError(f"a device of another trust domain: {device.spiffe_id!r}")
    if device.role in CHECKPOINT_ROLES:
        if device.checkpoint not in CHECKPOINTS:
            raise AssertionError(f"a device of an unknown checkpoint: {device.checkpoint!r}")
    elif device.role not in NATIONAL_ROLES or device.checkpoint is not None:
        raise AssertionError(f"a device of an unknown role: {device.role!r}")
    if not device.name or len(device.cert_thumbprint) != 43:
        raise AssertionError(f"an incomplete device: {device!r}")
