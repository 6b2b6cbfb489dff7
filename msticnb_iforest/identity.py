r"""
One key per real account, and what counts as a real source of a logon.

Windows logs spell the same account and the same source in many ways. The
default feature set compares each account with its own history, so every
spelling of an account must land on one key and no placeholder may pass for
a source. The same rules are written in KQL in the ``account_day_summary``
query (``queries/anomalous_logons.yaml``); tests check that both agree.

Accounts (`account_keys`)
-------------------------
* Text is trimmed of surrounding white space (``"alice "`` is ``alice``).
* A user written as ``user@domain`` (UPN) or ``DOMAIN\user`` is split; its
  domain is used when ``TargetDomainName`` is empty or ``-``.
* ``.`` as the domain means "this computer" (a local account): the domain is
  the short name of the target ``Computer``, as Windows itself writes it in
  many events (``MSTICAlertsWin1\ian``).
* The domain is reduced to its first label, so the NetBIOS and DNS forms of a
  domain meet: ``THESHIRE``, ``THESHIRE.LOCAL`` and ``theshire.local`` are all
  ``theshire``. Two different forests whose DNS names share a first label
  (``contoso.com`` and ``contoso.local``) would merge; this is rare and the
  price of matching NetBIOS names, which carry no suffix.
* User and domain are lower-cased. An empty domain stays empty: ``\admin``
  is its own account, not merged with any domain's ``admin``.
* The key is ``domain\user``, e.g. ``theshire\bob``. Rows keep an original
  spelling (``DstDomain``, ``DstUser``) for display and pivots, exactly as
  the logs write it: trimming and case folding make only the key.

Sources (`normalize_ips`, `normalize_hosts`)
--------------------------------------------
Addresses are trimmed and lower-cased and lose an IPv4-mapped prefix
(``::ffff:10.0.0.5`` is ``10.0.0.5``). ``-``, empty, ``0.0.0.0`` and ``::``
carry no address; ``::1``, ``127.*`` and link-local ``fe80:*`` are the
machine itself. Workstation names are trimmed, lower-cased and lose leading
backslashes; ``-`` and empty carry no name. None of these counts as a
distinct or new source; they are counted apart (logons without a source,
logons from the machine itself).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = [
    "account_mask",
    "LOCAL_IP_PREFIXES",
    "NO_HOST",
    "NO_IP",
    "SOURCE_LOCAL",
    "SOURCE_NONE",
    "SOURCE_REAL",
    "Wildcard",
    "account_codes",
    "account_keys",
    "allow_list_mask",
    "check_allow_accounts",
    "display_domains",
    "normalize_computers",
    "normalize_hosts",
    "normalize_ips",
    "split_accounts",
]

#: Source address values that carry no address.
NO_IP = ("", "-", "0.0.0.0", "::")
#: Exact value and prefixes of addresses of the machine itself (after lower-casing).
LOCAL_IP = "::1"
LOCAL_IP_PREFIXES = ("127.", "fe80:")
#: Prefix of IPv4-mapped IPv6 addresses, removed.
IPV4_MAPPED = "::ffff:"
#: Workstation names that carry no name.
NO_HOST = ("", "-")
#: Kinds of source address.
SOURCE_REAL, SOURCE_NONE, SOURCE_LOCAL = 0, 1, 2
#: White space trimmed from text, as KQL's ``trim(@"\s+", ...)`` does.
_SPACE = " \t\n\r\f"


def _written(values: Iterable[object]) -> pd.Series:
    """Values as str, as written (missing values are empty)."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return series.astype(object).fillna("").astype(str).reset_index(drop=True)


def _text(values: Iterable[object]) -> pd.Series:
    """Values as trimmed str (missing values are empty)."""
    return _written(values).str.strip(_SPACE)


def normalize_ips(values: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """
    Normalize source addresses.

    Returns
    -------
    tuple of (np.ndarray, np.ndarray)
        The normalized text ("" unless the address is real) and its kind:
        `SOURCE_REAL`, `SOURCE_NONE` or `SOURCE_LOCAL`.

    """
    text = _text(values).str.lower()
    mapped = text.str.startswith(IPV4_MAPPED)
    text = text.where(~mapped, text.str.slice(len(IPV4_MAPPED)))
    kind = np.full(len(text), SOURCE_REAL, dtype=np.int8)
    local = (text == LOCAL_IP) | text.str.startswith(LOCAL_IP_PREFIXES)
    kind[local.to_numpy()] = SOURCE_LOCAL
    kind[text.isin(NO_IP).to_numpy()] = SOURCE_NONE
    return np.where(kind == SOURCE_REAL, text.to_numpy(dtype=object), ""), kind


def normalize_hosts(values: Iterable[object]) -> np.ndarray:
    """Normalize workstation names ("" where there is no name)."""
    text = _text(values).str.lower().str.lstrip("\\")
    return np.where(text.isin(NO_HOST), "", text).astype(object)


def normalize_computers(values: Iterable[object]) -> np.ndarray:
    """Normalize target computer names (trimmed, lower-cased)."""
    return _text(values).str.lower().to_numpy(dtype=object)


def split_accounts(
    users: Iterable[object], domains: Iterable[object]
) -> tuple[np.ndarray, np.ndarray]:
    r"""
    Split users written as ``user@domain`` or ``DOMAIN\user``.

    Returns
    -------
    tuple of (np.ndarray, np.ndarray)
        The bare user (trimmed, case kept) and the named domain: the
        trimmed ``TargetDomainName`` unless it is empty or ``-``, else the
        domain written in the user name, else "".

    """
    user = _text(users)
    domain = _text(domains)
    at = user.str.extract(r"^(.+)@([^@]+)$")
    slash = user.str.extract(r"^([^\\]+)\\(.+)$")
    has_at, has_slash = at[0].notna(), slash[0].notna()
    bare = user.where(~has_slash, slash[1]).where(~has_at, at[0])
    written = pd.Series("", index=user.index, dtype=object)
    written = written.where(~has_slash, slash[0]).where(~has_at, at[1])
    named = domain.where(~domain.isin(["", "-"]), written)
    return bare.to_numpy(dtype=object), named.to_numpy(dtype=object)


def _short(values: pd.Series) -> pd.Series:
    return values.str.split(".", n=1).str[0]


def account_keys(
    users: Iterable[object], domains: Iterable[object], computers: Iterable[object] | None = None
) -> np.ndarray:
    r"""
    Return the canonical ``domain\user`` key of each (user, domain[, computer]).

    See the module docstring for the rules. Without `computers`, a ``.``
    domain stays ``.``.
    """
    bare, named = split_accounts(users, domains)
    named = pd.Series(named, dtype=object)
    if computers is not None:
        computer = _text(computers)
        named = named.where(named != ".", _short(computer))
    key = _short(named.str.lower()) + "\\" + pd.Series(bare, dtype=object).str.lower()
    return key.to_numpy(dtype=object)


def display_domains(domains: Iterable[object], computers: Iterable[object]) -> np.ndarray:
    """
    Domains for display: as written, with the computer's short name in place of ``.``.

    Only a domain that is ``.`` (after trimming) is replaced; any other is
    returned exactly as the logs spell it (white space included), so a
    pivot on it finds the logged events.
    """
    written = _written(domains)
    local = written.str.strip(_SPACE) == "."
    return written.where(~local, _short(_text(computers))).to_numpy(dtype=object)


def check_allow_accounts(allow_accounts: str | Iterable[str] | None) -> tuple[str, ...]:
    r"""
    Validate allow-list entries and return them as a tuple.

    An entry is a user name (``svc-backup``), ``DOMAIN\user`` or
    ``user@domain``; ``*`` (any text) and ``?`` (one character) are
    wildcards (``CONTOSO\svc-*``), every other character is literal; see
    `Wildcard`. Matching ignores case.

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


class _Segment:
    """A run of pattern text between two ``*``: literal characters and ``?``."""

    def __init__(self, text: str):
        self.text = text
        self.size = len(text)
        self._regex = None
        if "?" in text:
            # A fixed-length pattern (no quantifiers): matching it at one
            # place costs at most its length, so searching costs n * m.
            body = "".join("." if ch == "?" else re.escape(ch) for ch in text)
            self._regex = re.compile(body, re.DOTALL)

    def at(self, name: str, pos: int) -> bool:
        """Whether the segment matches `name` at position `pos`."""
        if self._regex is None:
            return name.startswith(self.text, pos)
        return self._regex.match(name, pos) is not None

    def find(self, name: str, pos: int, end: int) -> int:
        """Leftmost start >= `pos` of a match ending by `end`, or -1."""
        if self._regex is None:
            return name.find(self.text, pos, end)
        found = self._regex.search(name, pos, end)
        return -1 if found is None else found.start()


class Wildcard:
    """
    A wildcard pattern: ``*`` is any text (also none), ``?`` one character.

    Every other character is literal (``[`` included, unlike `fnmatch`).
    Matching never backtracks: ``*`` splits the pattern into segments; the
    first must start the name, the last must end it, and the ones between
    are found leftmost, left to right, which is exact for such patterns.
    A match costs at most O(n * m) for a name of n characters and a
    pattern of m (each segment is searched once, left to right), instead
    of the polynomial blow-up of a backtracking regex (``svc-*-*-*-prod``
    against ``svc-`` and 8,000 dashes took minutes).
    Case is compared as given; lower-case both sides to ignore it.
    """

    def __init__(self, pattern: str):
        self.pattern = pattern
        parts = [_Segment(part) for part in pattern.split("*")]
        self.literal = len(parts) == 1 and "?" not in pattern
        self._head, self._tail = parts[0], parts[-1]
        self._middle = parts[1:-1]
        self._stars = len(parts) > 1
        self._least = sum(part.size for part in parts)

    def match(self, name: str) -> bool:
        """Whether the whole of `name` matches the pattern."""
        size = len(name)
        if not self._stars:
            return size == self._least and self._head.at(name, 0)
        if size < self._least or not self._head.at(name, 0):
            return False
        end = size - self._tail.size
        if not self._tail.at(name, end):
            return False
        pos = self._head.size
        for part in self._middle:
            found = part.find(name, pos, end)
            if found < 0:
                return False
            pos = found + part.size
        return True


def _matches(pattern: str, names: pd.Series) -> np.ndarray:
    """Match each of `names` (distinct values) against a wildcard pattern."""
    wildcard = Wildcard(pattern)
    if wildcard.literal:
        return (names == pattern).to_numpy(dtype=bool)
    return np.fromiter((wildcard.match(name) for name in names), dtype=bool, count=len(names))


def _distinct_keys(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row, a code into the distinct canonical keys of `table`'s accounts."""
    if "AccountKey" in table.columns:
        codes, distinct = pd.factorize(table["AccountKey"].astype(str).to_numpy(dtype=object))
        return codes, np.asarray(distinct, dtype=object)
    # Keys once per distinct (DstDomain, DstUser) spelling, not per row.
    user, users = pd.factorize(table["DstUser"].to_numpy(dtype=object), use_na_sentinel=False)
    domain, domains = pd.factorize(table["DstDomain"].to_numpy(dtype=object), use_na_sentinel=False)
    pair, pairs = pd.factorize(domain.astype(np.int64) * max(len(users), 1) + user)
    keys = account_keys(users[pairs % max(len(users), 1)], domains[pairs // max(len(users), 1)])
    codes, distinct = pd.factorize(keys)
    return codes[pair], np.asarray(distinct, dtype=object)


def account_codes(table: pd.DataFrame) -> np.ndarray:
    r"""
    Return a number per row for its account: one account's rows (by key) share it.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"DstDomain": ["CONTOSO", "contoso", "X"], "DstUser": "Al"})
    >>> account_codes(rows).tolist()
    [0, 0, 1]

    """
    return _distinct_keys(table)[0]


def allow_list_mask(table: pd.DataFrame, allow_accounts: str | Iterable[str] | None) -> np.ndarray:
    r"""
    Say which rows of a per-user-day table belong to allow-listed accounts.

    Parameters
    ----------
    table : pd.DataFrame
        Rows with ``DstDomain`` and ``DstUser`` (and ``AccountKey`` when
        the table has canonical keys, see `account_keys`).
    allow_accounts : str or iterable of str
        Entries as described in `check_allow_accounts`, matched against the
        canonical account: case is ignored, ``user@domain`` and
        ``DOMAIN\user`` are the same, and a domain matches by its first
        label (``CONTOSO`` matches ``contoso.local``). A bare name matches
        the user in any domain.

    Returns
    -------
    np.ndarray
        Boolean, aligned to `table`.

    """
    entries = check_allow_accounts(allow_accounts)
    mask = np.zeros(len(table), dtype=bool)
    if not entries or table.empty:
        return mask
    codes, distinct = _distinct_keys(table)
    # A key is "domain\user"; a value without a backslash is a user with no domain.
    parts = [key.lower().partition("\\") for key in distinct]
    dom = pd.Series([d if sep else "" for d, sep, _ in parts], dtype=object)
    usr = pd.Series([u if sep else d for d, sep, u in parts], dtype=object)
    hits = np.zeros(len(distinct), dtype=bool)
    for entry in entries:
        text = entry.lower()
        if "\\" in text or "@" in text:
            entry_key = str(account_keys([text], [""])[0])
            dom_txt, user_txt = entry_key.split("\\", 1)
        else:
            dom_txt, user_txt = None, text
        match = _matches(user_txt, usr)
        if dom_txt is not None:
            match &= _matches(dom_txt, dom)
        hits |= match
    mask[:] = hits[codes]
    return mask


def account_mask(table: pd.DataFrame, account: str) -> pd.Series:
    r"""
    Select the rows of one account, case-insensitively.

    `account` may be ``user``, ``DOMAIN\\user`` or ``user@domain``.
    """
    return _display_mask(table, account) | _key_mask(table, account)


def _display_mask(table: pd.DataFrame, account: str) -> pd.Series:
    text = str(account).strip().casefold()
    if "\\" in text:
        dom, usr = text.split("\\", 1)
        return _folded_equals(table["DstUser"], usr) & _folded_equals(table["DstDomain"], dom)
    if "@" in text:
        usr, dom = text.split("@", 1)
        return _folded_equals(table["DstUser"], usr) & _folded_equals(
            table["DstDomain"], dom.split(".")[0], first_label=True
        )
    return _folded_equals(table["DstUser"], text)


def _key_mask(table: pd.DataFrame, account: str) -> pd.Series:
    """Match the canonical AccountKey (any spelling of the account), when present."""
    if "AccountKey" not in table.columns:
        return pd.Series(False, index=table.index)
    wanted = str(account_keys([str(account)], [""])[0])
    codes, uniques = pd.factorize(table["AccountKey"].astype(str))
    keys = pd.Series(uniques, dtype=object)
    if wanted.startswith("\\"):  # no domain given: any domain with this user
        hits = keys.str.split("\\", n=1).str[-1] == wanted[1:]
    else:
        hits = keys == wanted
    return pd.Series(hits.to_numpy()[codes], index=table.index) & (codes >= 0)


def _folded_equals(values: pd.Series, target: str, first_label: bool = False) -> pd.Series:
    """
    Compare case-folded text to `target`, folding each distinct value once.

    With `first_label`, only the text before the first dot is compared.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    folded = [str(value).casefold() for value in uniques]
    if first_label:
        folded = [value.split(".")[0] for value in folded]
    hits = np.array([value == target for value in folded], dtype=bool)
    return pd.Series(hits[codes] if len(codes) else np.zeros(0, bool), index=values.index)
