"""Password -> (verifier, key-encryption key) with Argon2id (RFC 9106) from ``cryptography``."""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass
from typing import Any

KEY_BYTES = 32


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost, stored with each account so a later release can raise it (default: RFC 9106's
    second recommendation lowered to 2 passes: 64 MiB, ~0.3 s on a slow laptop core)."""

    algorithm: str = "argon2id"
    memory_kib: int = 64 * 1024
    iterations: int = 2
    lanes: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "KdfParams":
        params = cls(**data)
        if params.algorithm != "argon2id":
            raise ValueError(f"unknown key derivation {params.algorithm!r}")
        return params


def derive(password: str, salt: bytes, params: KdfParams) -> tuple[bytes, bytes]:
    """(verifier, key-encryption key): the two halves of one Argon2id output (independent bytes: the stored
    verifier tells nothing about the key that wraps the master key)."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    out = Argon2id(salt=salt, length=2 * KEY_BYTES, iterations=params.iterations, lanes=params.lanes,
                   memory_cost=params.memory_kib).derive(password.encode("utf-8"))
    return out[:KEY_BYTES], out[KEY_BYTES:]


def same(a: bytes, b: bytes) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)
