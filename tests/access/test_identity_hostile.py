"""Certificates the device_certificate fuzz harness found: each an IdentityError now.

Each input is the exact one the fuzzer wrote (DER, base64 here), a bit flip of a device
certificate. Both escaped ``device_from_pem`` as an exception other than IdentityError,
which the interceptor does not catch: the call would have ended UNKNOWN, not UNAUTHENTICATED.
A certificate reaches this code only after the TLS handshake has verified it, so neither
could come from a stranger; the service still answers as the access specification says.
"""

from __future__ import annotations

import base64

import pytest
from departure_screening.access.identity import IdentityError, device_from_pem

# An extension whose value holds an unexpected ASN.1 tag: cryptography parses extensions
# only when first read, and raised ValueError there.
MALFORMED_EXTENSION = (
    "MIICUTCCAfegAwIBAgIUZdWilADIsJCAjZRXZKCVcXbYQJswCgYIKoZIzj0EAwIwVzEoMCYGA1UECgwfZGVwYXJ0"
    "dXJlLXNjcmVlbmluZyBkZXZlbG9wbWVudDErMCkGA1UEAwwiZGVwYXJ0dXJlLXNjcmVlbmluZyBkZXZlbG9wbWVu"
    "dCBDQTAeFw0yNTEyMzEyMzU1MDBaFw0yNjA0MDEwMDAwMDBaMEExKDAmBgNVBAoMH2RlcGFydHVyZS1zY3JlZW5p"
    "bmcgZGV2ZWxvcG1lbnQxFTATBgNVBAMMDG90aGVyLWRvbWFpbjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABJpm"
    "aN5NDm9obnpaeSLIe6ZJcjXdkcCj+Ejhu1kC3mRLZ9cHF0iR+hG++xwFHCWQe9eVCE56xeJy4oxz3MFmvXujgbYw"
    "gbMwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUHAwIwPgYDVR0RBDcwNYYz"
    "c3BpZmZlOi8vZXhhbXBsZS5vcmcvY2hlY2twb2ludC9DR0svY291bnRlci9sYW5lLTAxMB0GA1UdDgQWFASVaUXW"
    "Y0/VAdiaZlouAYxGchOctjAfBgNVHSMEGDAWgBT5gGCjLYEv6lDXH6uLJUw+/JuTiTAKBggqhkjOPQQDAgNIADBF"
    "AiEA0HUCKP9Q+f+y6s8n6sd8nRcDRkz4cnpG2yuONxQXRAsCIDgPV5vLrWF0/Hpt4FpEOS8RdQj5Uf9q0PYnBAlO"
    "wGUY"
)
# Version field 34: cryptography raises InvalidVersion, which is not a ValueError.
INVALID_VERSION = (
    "MIICTzCCAfWgAwIBIgIULxLv/cEN39sryKZTcjR376LzzuQwCgYIKoZIzj0EAwIwVzEoMCYGA1UECgwfZGVwYXJ0"
    "dXJlLXNjcmVlbmluZyBkZXZlbG9wbWVudDErMCkGA1UEAwwiZGVwYXJ0dXJlLXNjcmVlbmluZyBkZXZlbG9wbWVu"
    "dCBDQTAeFw0yNTEyMzEyMzU1MDBaFw0yNjA0MDEwMDAwMDBaMDwxKDAmBgNVBAoMH2RlcGFydHVyZS1zY3JlZW5p"
    "bmcgZGV2ZWxvcG1lbnQxEDAOBgNVBAMMB2NvdW50ZXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQmSUB0SgqY"
    "8khGzlCqNUsQxyESqUe6Ya82rZqN0rZoCHyoXw5yTk2Ew312KFi9ARYzs9Factcd6XIuvFUeh26Bo4G5MIG2MAwG"
    "A1UdEwEB/wQCMAAwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMCMEEGA1UdEQQ6MDiGNnNwaWZm"
    "ZTovL2ltaWdyYXNpLmdvLmlkL2NoZWNrcG9pbnQvQ0dLLzFvdW50ZXIvbGFuZS0wMTAdBgNVHQ4EFgQUYlEqWNbt"
    "aznZWEYDia/IU+PAp5QwHwYDVR0jBBgwFoAU+YBgoy2BL+pQ1x+riyVMPvybk4kwCgYIKoZIzj0EAwIDSAAwRQIg"
    "a7I9KUIYLo5Zzv7098oD+LTK1BdfgnF6MRsLc+Q9/dQCIQDNl/Tx3ZyHzIHHEOtGrYBIdc4dZPhDAmoVr0AXBB2q"
    "Zw=="
)


def _pem(der_base64: str) -> bytes:
    body = base64.encodebytes(base64.b64decode(der_base64))
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("der", "reason"),
    [
        (MALFORMED_EXTENSION, "unreadable certificate extensions"),
        (INVALID_VERSION, "unreadable certificate"),
    ],
    ids=["malformed extension", "invalid version"],
)
def test_a_mangled_certificate_is_an_identity_error(der: str, reason: str) -> None:
    with pytest.raises(IdentityError, match=f"^{reason}$"):
        device_from_pem(_pem(der), "imigrasi.go.id", ["CGK"])
