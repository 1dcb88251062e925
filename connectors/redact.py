"""Secret masking: the one mechanism that keeps credentials out of exception messages.

Each `ApiSession` owns a `Redactor`; its client registers every credential value it was given and
every value it derives (a Basic header, a Netvisor MAC, OAuth access and refresh tokens as they are
obtained). `redact(text)` masks what every live redactor in this process knows, plus anything that
merely looks like a credential (`Authorization: ...`, `Bearer ...`, `Basic ...`, `client_secret=...`),
so a server that echoes an unknown token is masked too.

`ConnectorError.__init__` applies `redact` to every cause, so no error needs to remember to: that
includes errors built without a session (parsers, decode workers) and errors rebuilt when unpickled
in another process (`__reduce__` calls `__init__` again, where the session's secrets are known).
Masking is idempotent.
"""

from __future__ import annotations

import html
import json
import re
import threading
import weakref
from collections import deque
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary numbers and words in every message

# Anything that looks like a credential, known or not. Values stop at whitespace, quotes and the
# separators of JSON, XML, query strings and header lists.
_VALUE = r"[^\s\"'&,;}<>\]\[]+"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: <scheme> <credentials> (header echo, JSON or Python dict echo)
    (re.compile(r"(?i)(\b(?:proxy-)?authorization\b[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,;}<]+"), r"\1" + MASK),
    # Bearer and Basic credentials anywhere
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/-]+=*"), r"\1" + MASK),
    # base64 after "Basic" (mixed case, as base64 is; "basic information" is left alone)
    (
        re.compile(r"(\b(?:Basic|BASIC)\s+)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z0-9])[A-Za-z0-9+/]{6,}=*"),
        r"\1" + MASK,
    ),
    # name=value / "name": "value" / name: value for names that hold secrets
    (
        re.compile(
            r"(?i)(\b[\w-]*(?:secret|password|passwd|api[_-]?key|token|mac|signature|credential|private[_-]?key)"
            r"[\w-]*[\"']?\s*[:=]\s*[\"']?)" + _VALUE
        ),
        r"\1" + MASK,
    ),
    # <name>value</name> for the same names (XML echo)
    (
        re.compile(
            r"(?i)(<([\w:-]*(?:secret|password|api[_-]?key|token|mac|signature|credential)[\w:-]*)(?:\s[^>]*)?>)"
            r"[^<]*(</\2>)"
        ),
        r"\1" + MASK + r"\3",
    ),
)


def _variants(value: str) -> set[str]:
    """The forms a value takes when a server echoes it: as is, URL-, JSON- and XML-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


RECENT_VALUES = 64 * 5  # forms of the last 64 single-use values


class Redactor:
    """The secrets of one session. Registered while the session lives (weakly held)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        # Single-use values (a Netvisor MAC per request): only the latest few can still be echoed back.
        self._recent: deque[str] = deque(maxlen=RECENT_VALUES)
        self._lock = threading.Lock()
        with _REGISTRY_LOCK:
            _REGISTRY.add(self)

    def add(self, *values: str | None) -> None:
        """Register credential values (None and very short values are ignored)."""
        forms = set().union(*(_variants(v) for v in values if v))
        if forms:
            with self._lock:
                self._values |= forms
            _invalidate()

    def add_recent(self, value: str | None) -> None:
        """Register a single-use derived value; only the last RECENT_VALUES of them are kept."""
        if value:
            with self._lock:
                self._recent.extend(_variants(value))
            _invalidate()

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values) | frozenset(self._recent)

    def __call__(self, text: str) -> str:
        return _mask(text, self.values())

    def __repr__(self) -> str:  # never print what it holds
        return f"Redactor({len(self._values)} values)"


_REGISTRY: weakref.WeakSet[Redactor] = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()
_compiled: tuple[frozenset[str], re.Pattern[str] | None] | None = None


def _invalidate() -> None:
    global _compiled
    _compiled = None


def _known() -> frozenset[str]:
    with _REGISTRY_LOCK:
        redactors = list(_REGISTRY)
    return frozenset().union(*(r.values() for r in redactors))


def _pattern(values: frozenset[str]) -> re.Pattern[str] | None:
    global _compiled
    cached = _compiled
    if cached is not None and cached[0] == values:
        return cached[1]
    # Longest first, so a value that contains another is masked whole.
    pattern = re.compile("|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))) if values else None
    _compiled = (values, pattern)
    return pattern


def _mask(text: str, values: frozenset[str]) -> str:
    pattern = _pattern(values)
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for generic, replacement in _PATTERNS:
        text = generic.sub(replacement, text)
    return text


def redact(text: str) -> str:
    """`text` with every registered secret of this process, and anything credential-shaped, masked."""
    return _mask(text, _known())
