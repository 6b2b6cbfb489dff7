"""
What counts as a real source of a logon, and which accounts are allow-listed.

Windows writes placeholders where it has no value: ``-`` or an empty string
for ``IpAddress`` and ``WorkstationName`` (most Kerberos events), loopback
addresses (``::1``, ``127.0.0.1``) for logons from the machine itself and
link-local IPv6 addresses (``fe80::...``). None of these identifies where a
logon came from, so none counts as a distinct or new source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = [
    "PLACEHOLDER_HOSTS",
    "PLACEHOLDER_IPS",
    "allow_list_mask",
    "check_allow_accounts",
    "is_placeholder_host",
    "is_placeholder_ip",
]

#: Source addresses that say nothing about where a logon came from.
PLACEHOLDER_IPS = ("", "-", "::1", "127.0.0.1", "0.0.0.0", "::")
#: Prefix of IPv6 link-local addresses (matched case-insensitively).
LINK_LOCAL_PREFIX = "fe80:"
#: Workstation names that say nothing about the source host.
PLACEHOLDER_HOSTS = ("", "-")


def _text(values: Iterable[object]) -> pd.Series:
    return pd.Series(list(values), dtype=object).fillna("").astype(str).str.strip()


def is_placeholder_ip(values: Iterable[object]) -> np.ndarray:
    """Return True where a source address is a placeholder or a local address."""
    text = _text(values).str.lower()
    return (text.isin(PLACEHOLDER_IPS) | text.str.startswith(LINK_LOCAL_PREFIX)).to_numpy()


def is_placeholder_host(values: Iterable[object]) -> np.ndarray:
    """Return True where a workstation name is a placeholder."""
    return _text(values).isin(PLACEHOLDER_HOSTS).to_numpy()


def check_allow_accounts(allow_accounts: str | Iterable[str] | None) -> tuple[str, ...]:
    r"""
    Validate allow-list entries and return them as a tuple.

    An entry is a user name (``svc-backup``), ``DOMAIN\user`` or
    ``user@domain``; ``*`` and ``?`` are wildcards (``CONTOSO\svc-*``).
    Matching ignores case.

    Raises
    ------
    ParameterError
        If an entry is not a non-empty string.

    """
    if allow_accounts is None:
        return ()
    if isinstance(allow_accounts, str):
        allow_accounts = [allow_accounts]
    try:
        entries = list(allow_accounts)
    except TypeError:
        raise ParameterError(
            "allow_accounts must be an account name or a list of names, "
            f"got {type(allow_accounts).__name__}."
        ) from None
    clean = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise ParameterError(
                f"allow_accounts entries must be non-empty strings, got {entry!r}."
            )
        clean.append(entry.strip())
    return tuple(clean)


def _regex(pattern: str) -> str:
    """Turn a wildcard pattern (``*`` any text, ``?`` one character) into a regex."""
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


def _first_label(domain: str) -> str:
    return domain.split(".", 1)[0]


def allow_list_mask(table: pd.DataFrame, allow_accounts: str | Iterable[str] | None) -> np.ndarray:
    r"""
    Say which rows of a per-user-day table belong to allow-listed accounts.

    Parameters
    ----------
    table : pd.DataFrame
        Rows with ``DstDomain`` and ``DstUser``.
    allow_accounts : str or iterable of str
        Entries as described in `check_allow_accounts`. A bare name matches
        the user in any domain. In ``DOMAIN\user`` and ``user@domain`` the
        domain matches the row's domain or its first label, so ``CONTOSO``
        matches ``contoso.local`` and ``contoso.local`` matches ``CONTOSO``.

    Returns
    -------
    np.ndarray
        Boolean, aligned to `table`.

    """
    entries = check_allow_accounts(allow_accounts)
    mask = np.zeros(len(table), dtype=bool)
    if not entries or table.empty:
        return mask
    # Match on the distinct accounts only, then spread to rows.
    pairs = table[["DstDomain", "DstUser"]].astype(str)
    codes = pd.factorize(pairs["DstDomain"] + "\x00" + pairs["DstUser"])[0]
    _, first = np.unique(codes, return_index=True)
    distinct = pairs.iloc[first]
    dom = distinct["DstDomain"].str.casefold().reset_index(drop=True)
    usr = distinct["DstUser"].str.casefold().reset_index(drop=True)
    dom_first = dom.str.split(".", n=1).str[0]
    hits = np.zeros(len(distinct), dtype=bool)
    for entry in entries:
        text = entry.casefold()
        if "\\" in text:
            dom_txt, user_txt = text.split("\\", 1)
        elif "@" in text:
            user_txt, dom_txt = text.rsplit("@", 1)
        else:
            dom_txt, user_txt = None, text
        match = usr.str.fullmatch(_regex(user_txt)).to_numpy(dtype=bool)
        if dom_txt is not None:
            full, first_label = _regex(dom_txt), _regex(_first_label(dom_txt))
            match &= (
                dom.str.fullmatch(full)
                | dom_first.str.fullmatch(first_label)
                | dom_first.str.fullmatch(full)
            ).to_numpy(dtype=bool)
        hits |= match
    mask[:] = hits[codes]
    return mask
