"""The public vote's proof of work: a challenge the server signs and the browser solves (issue 19).

A challenge is ``<contest>.<random id>.<issued at, unix seconds>.<difficulty>.<HMAC-SHA256 signature>``,
signed with a key of the server's (no third-party service: the machine may be offline). The browser
finds a ``nonce`` such that ``sha256("<challenge>:<nonce>")`` begins with ``difficulty`` zero bits,
which costs it about ``2 ** difficulty`` hashes and the server one. A challenge expires after
``CHALLENGE_SECONDS`` and is used once: the vote stores its random id under a unique constraint.
Pure: no Flask, no database.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass

CHALLENGE_SECONDS = 600
"""How long a challenge may be solved and used: long enough for a slow phone, short for a stockpile."""
MAX_NONCE_LENGTH = 32


class ProofProblem(enum.StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    WRONG_CONTEST = "wrong_contest"
    UNSOLVED = "unsolved"


@dataclass(frozen=True)
class Challenge:
    contest_id: int
    token_id: str
    issued_at: int
    difficulty: int

    @property
    def body(self) -> str:
        return f"{self.contest_id}.{self.token_id}.{self.issued_at}.{self.difficulty}"


def _signature(key: bytes, body: str) -> str:
    return hmac.new(key, b"vote-challenge:" + body.encode("ascii"), hashlib.sha256).hexdigest()


def issue_challenge(key: bytes, contest_id: int, difficulty: int, now: int) -> str:
    """A new signed challenge for a vote in contest ``contest_id`` at unix time ``now``."""
    challenge = Challenge(contest_id, secrets.token_hex(16), now, difficulty)
    return f"{challenge.body}.{_signature(key, challenge.body)}"


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solves(token: str, nonce: str, difficulty: int) -> bool:
    """Whether ``nonce`` solves the challenge ``token`` at ``difficulty`` zero bits."""
    return leading_zero_bits(hashlib.sha256(f"{token}:{nonce}".encode()).digest()) >= difficulty


def solve(token: str, difficulty: int) -> str:
    """A nonce that solves ``token`` (what the browser's script does; for tests and the benchmark)."""
    nonce = 0
    while not solves(token, str(nonce), difficulty):
        nonce += 1
    return str(nonce)


def verify(key: bytes, token: str, nonce: str, contest_id: int, now: int) -> Challenge | ProofProblem:
    """The challenge ``token`` stands for when it is genuine, unexpired, for this contest and solved by
    ``nonce``; otherwise what is wrong with it. (Single use is the database's to enforce.)"""
    parts = token.split(".")
    if len(parts) != 5 or len(nonce) > MAX_NONCE_LENGTH or not nonce.isascii():
        return ProofProblem.MALFORMED
    contest, token_id, issued, difficulty, signature = parts
    if not (contest.isdigit() and issued.isdigit() and difficulty.isdigit() and len(token_id) == 32):
        return ProofProblem.MALFORMED
    challenge = Challenge(int(contest), token_id, int(issued), int(difficulty))
    if not hmac.compare_digest(signature, _signature(key, challenge.body)):
        return ProofProblem.FORGED
    if challenge.contest_id != contest_id:
        return ProofProblem.WRONG_CONTEST
    if not 0 <= now - challenge.issued_at <= CHALLENGE_SECONDS:
        return ProofProblem.EXPIRED
    if not solves(token, nonce, challenge.difficulty):
        return ProofProblem.UNSOLVED
    return challenge
