"""The access policy: which role may call which RPC, on which conditions (see
``default-policy.yaml`` for the format). Validated whole at load: an unknown field, role,
RPC or condition value is refused, so a typo never widens or silently narrows access.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from departure_screening.access.identity import CHECKPOINT_ROLES, ROLES

RPCS = (
    "Screen",
    "ScreenManifest",
    "RecordDecision",
    "GetAssessment",
    "ListIndicators",
    "WatchAlerts",
)
# The RPCs whose requests (or the assessment they name) carry a checkpoint and a mode.
SCOPED_RPCS = frozenset(RPCS) - {"ListIndicators"}
CONDITIONS = {
    "checkpoint": ("own", "any"),
    "mode": ("training", "any"),
    "officer": ("required", "required_in_live", "optional"),
}


def default_policy_path() -> Path:
    return Path(__file__).with_name("default-policy.yaml")


class Reason(StrEnum):
    """Why a call was refused: the bounded ``reason`` label of the denial counter."""

    BAD_CERTIFICATE = "bad_certificate"
    BAD_TOKEN = "bad_token"
    TOKEN_REQUIRED = "token_required"
    TOKEN_EXPIRED = "token_expired"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    OTHER_CHECKPOINT = "other_checkpoint"
    TRAINING_ONLY = "training_only"
    OFFICER_MISMATCH = "officer_mismatch"


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Grant:
    checkpoint: str = "any"
    mode: str = "any"
    officer: str = "optional"


@dataclass(frozen=True)
class Request:
    """What a decision looks at; nothing personal."""

    rpc: str
    role: str
    device_checkpoint: str | None
    has_officer: bool
    checkpoint: str | None = None  # of the request, or of the assessment it names
    mode: str | None = None  # "live" or "training"


@dataclass(frozen=True)
class Policy:
    grants: dict[str, dict[str, Grant]]  # rpc → role → grant

    def allows_role(self, rpc: str, role: str) -> bool:
        return role in self.grants.get(rpc, {})

    def decide(self, request: Request) -> Reason | None:
        """``None`` when allowed, else the reason for refusing."""
        grant = self.grants.get(request.rpc, {}).get(request.role)
        if grant is None:
            return Reason.ROLE_NOT_ALLOWED
        if grant.checkpoint == "own" and (
            request.device_checkpoint is None or request.checkpoint != request.device_checkpoint
        ):
            return Reason.OTHER_CHECKPOINT
        if grant.mode == "training" and request.mode != "training":
            return Reason.TRAINING_ONLY
        needs_officer = grant.officer == "required" or (
            grant.officer == "required_in_live" and request.mode != "training"
        )
        if needs_officer and not request.has_officer:
            return Reason.TOKEN_REQUIRED
        return None


def load_policy(path: Path) -> Policy:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"access policy {path}: {error}") from None
    try:
        return parse_policy(data)
    except PolicyError as error:
        raise PolicyError(f"access policy {path}: {error}") from None


def parse_policy(data: Any) -> Policy:
    if not isinstance(data, dict):
        raise PolicyError("expected a mapping with version and rpcs")
    unknown = set(data) - {"version", "rpcs"}
    if unknown:
        raise PolicyError(f"unknown field {sorted(unknown)[0]!r}")
    if data.get("version") != 1:
        raise PolicyError("version must be 1")
    rpcs = data.get("rpcs")
    if not isinstance(rpcs, dict):
        raise PolicyError("rpcs must be a mapping of RPC names")
    grants: dict[str, dict[str, Grant]] = {}
    for rpc, roles in rpcs.items():
        if rpc not in RPCS:
            raise PolicyError(f"unknown RPC {rpc!r}")
        if not isinstance(roles, dict):
            raise PolicyError(f"{rpc}: expected a mapping of roles")
        grants[rpc] = {role: _grant(rpc, role, cond) for role, cond in roles.items()}
    return Policy(grants)


def _grant(rpc: str, role: Any, conditions: Any) -> Grant:
    where = f"{rpc}.{role}"
    if role not in ROLES:
        raise PolicyError(f"{rpc}: unknown role {role!r}")
    conditions = {} if conditions is None else conditions
    if not isinstance(conditions, dict):
        raise PolicyError(f"{where}: expected a mapping of conditions")
    for name, value in conditions.items():
        if name not in CONDITIONS:
            raise PolicyError(f"{where}: unknown condition {name!r}")
        if value not in CONDITIONS[name]:
            raise PolicyError(f"{where}: {name} must be one of {', '.join(CONDITIONS[name])}")
    grant = Grant(**conditions)
    if grant.checkpoint == "own" and role not in CHECKPOINT_ROLES:
        raise PolicyError(f"{where}: a {role} has no checkpoint of its own")
    if rpc not in SCOPED_RPCS and (grant.checkpoint != "any" or grant.mode != "any"):
        raise PolicyError(f"{where}: {rpc} names no checkpoint or mode to condition on")
    return grant
