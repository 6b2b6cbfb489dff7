"""
Integer codes of the demo's event fields, and the array helpers its parts share.

The generator builds events as columns of small integer codes (`FIELDS`):
time in nanoseconds, account, computer, source address and workstation
(codes into the company's vocabularies), logon type, authentication, status,
attack kind and incident. `DemoEnterprise.frame` turns codes into strings
only when a table is built. A set of such columns is a ``Codes`` dict.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...schema import NETWORK_LOGON

#: Attack kinds that can be planted, in planting order. An event's ``atk``
#: code is 0 for background rows, else the kind's position here plus one.
ATTACK_KINDS: tuple[str, ...] = (
    "brute_force",
    "password_spray",
    "lateral_movement",
    "service_new_host",
    "brute_force_random_hosts",
)

MS = 1_000_000  # nanoseconds per millisecond
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DAY_NS = DAY_MS * MS

# Logon types: code -> (LogonType, LogonTypeName).
NET, INTERACTIVE, SERVICE, REMOTE, BATCH = range(5)
LOGON_TYPE = np.array([3, 2, 5, 10, 4], dtype=np.int64)
LOGON_TYPE_NAME = np.array(
    [NETWORK_LOGON, "2 - Interactive", "5 - Service", "10 - RemoteInteractive", "4 - Batch"],
    dtype=object,
)
# Authentication: code -> (AuthenticationPackageName, LogonProcessName).
KERBEROS, NTLM, ADVAPI, USER32 = range(4)
AUTH_PACKAGE_CODE = np.array([0, 1, 2, 2], dtype=np.intp)
AUTH_PACKAGE = np.array(["Kerberos", "NTLM", "Negotiate"], dtype=object)
LOGON_PROCESS = np.array(["Kerberos", "NtLmSsp ", "Advapi  ", "User32 "], dtype=object)
# Status: code -> (Status, SubStatus); 0 is success (event 4624).
OK, BAD_PASSWORD, LOCKED_OUT, DISABLED = range(4)
STATUS = np.array(["", "0xc000006d", "0xc0000234", "0xc000006e"], dtype=object)
SUBSTATUS = np.array(["", "0xc000006a", "0x0", "0xc0000072"], dtype=object)

FIELDS = ("t", "acct", "comp", "ip", "ws", "lt", "auth", "st", "atk", "inc")
FIELD_DTYPES = {
    "t": np.int64,
    "acct": np.int32,
    "comp": np.int32,
    "ip": np.int32,
    "ws": np.int32,
    "lt": np.int8,
    "auth": np.int8,
    "st": np.int8,
    "atk": np.int8,
    "inc": np.int32,
}

#: Event columns as codes, one array per name in `FIELDS`.
Codes = dict[str, np.ndarray]

# Random stream numbers (with the seed and a day or incident number).
(
    S_ORG,
    S_HUMAN,
    S_SERVICE,
    S_PLAN,
    S_NOISE_LOCAL,
    S_NOISE_UTC,
    S_MOVE,
    S_CALENDAR,
    S_LEAVE,
) = range(9)
# Day streams are numbered by calendar day (days since 1970 plus this), so a
# day's background is the same in every window that contains it.
DAY_BASE = 1_000_000

_ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


def attack_code(kind: str) -> int:
    """Return the ``atk`` code of an attack kind."""
    return ATTACK_KINDS.index(kind) + 1


class Vocab:
    """Distinct strings with integer codes in insertion order."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, value: str) -> int:
        """Return the code of `value`, adding it if it is new."""
        code = self.index.get(value)
        if code is None:
            code = len(self.items)
            self.index[value] = code
            self.items.append(value)
        return code

    def add_many(self, values: Iterable[str]) -> np.ndarray:
        """Return the codes of `values`, adding the new ones in order."""
        return np.array([self.add(v) for v in values], dtype=np.int32)

    def array(self) -> np.ndarray:
        """Return the strings, indexed by code."""
        return np.array(self.items, dtype=object)


def part(n: int, **values: object) -> Codes:
    """Build event columns (codes) of length n, broadcasting scalars."""
    out = {}
    for name in FIELDS:
        value = values.get(name, -1 if name == "inc" else 0)
        dtype = FIELD_DTYPES[name]
        if np.ndim(value) == 0:
            out[name] = np.full(n, value, dtype=dtype)
        else:
            out[name] = np.asarray(value, dtype=dtype)
    return out


def concat(parts: list[Codes]) -> Codes:
    """Stack event columns; no parts give empty columns."""
    if not parts:
        return part(0)
    return {name: np.concatenate([p[name] for p in parts]) for name in FIELDS}


def take(codes: Codes, index: np.ndarray) -> Codes:
    """Select rows of event columns."""
    return {name: values[index] for name, values in codes.items()}


def weighted_csr(
    owner: np.ndarray, item: np.ndarray, weight: np.ndarray, n_owners: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pack (owner, item, weight) triples for fast weighted sampling.

    Returns the items sorted by owner, keys ``owner + cumulative share`` and
    the sorted owners;
    ``items[searchsorted(keys, owner + u, side="right")]`` with ``u`` uniform
    in [0, 1) draws an item of `owner` with probability proportional to its
    weight.
    """
    order = np.argsort(owner, kind="stable")
    owner, item, weight = owner[order], item[order], weight[order].astype(float)
    total = np.bincount(owner, weights=weight, minlength=n_owners)
    cum = np.cumsum(weight)
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    counts = np.diff(np.r_[first, owner.size])
    before = np.repeat(cum[first] - weight[first], counts)
    share = (cum - before) / total[owner]
    last = np.r_[first[1:] - 1, owner.size - 1]
    share[last] = 1.0
    return item, owner + share, owner


def draw(
    items: np.ndarray, keys: np.ndarray, owners: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Draw one item per entry of `owners` from a `weighted_csr` table."""
    pos = np.searchsorted(keys, owners + rng.random(owners.size), side="right")
    return items[np.minimum(pos, items.size - 1)]


def random_names(rng: np.random.Generator, count: int, length: int) -> list[str]:
    """Random upper-case alphanumeric strings."""
    chars = _ALNUM[rng.integers(0, _ALNUM.size, size=(count, length))]
    return [str(s) for s in np.ascontiguousarray(chars).view(f"<U{length}").ravel()]


def ms(hours: np.ndarray | float) -> np.ndarray:
    """Convert hours to whole milliseconds."""
    return np.round(np.asarray(hours, dtype=float) * HOUR_MS).astype(np.int64)
