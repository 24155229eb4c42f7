"""Normalisation of codes, names, headers and labels found in users' files."""

from __future__ import annotations

import functools
import math
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_CODE_NOISE = re.compile(r"[^0-9A-Za-z]")
_TRAILING_DECIMAL = re.compile(r"[.,]0+$")
_SAINT = re.compile(r"\b(st|ste|saint|sainte)\b")


def strip_accents(text: str) -> str:
    """Remove diacritics (``é`` → ``e``, ``œ`` → ``oe``)."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=131072)
def _label_key_str(text: str) -> str:
    value = strip_accents(text).casefold()
    return _NON_ALNUM.sub(" ", value).strip()


def label_key(text: object) -> str:
    """Case-, accent- and punctuation-insensitive key of a header or a label.

    Examples
    --------
    >>> label_key("  Code INSEE ")
    'code insee'
    >>> label_key("État d'avancement")
    'etat d avancement'
    """
    if text is None:
        return ""
    return _label_key_str(str(text))


def name_key(text: object) -> str:
    """Key for comparing commune names: accents, case, hyphens, apostrophes, saint/st.

    Examples
    --------
    >>> name_key("L'Abergement-Clémenciat") == name_key("l abergement clemenciat")
    True
    >>> name_key("St-Rémy-de-Provence") == name_key("Saint Remy de Provence")
    True
    """
    key = label_key(text)
    key = _SAINT.sub(lambda m: "saint" if m.group(1) in ("st", "saint") else "sainte", key)
    return key


def clean_code_token(text: object) -> str:
    """Strip typographic noise from a code cell: spaces, quotes, ``.0`` of Excel numbers.

    Examples
    --------
    >>> clean_code_token(" '01 001 ")
    '01001'
    >>> clean_code_token(1001.0)
    '1001'
    >>> clean_code_token("2a004")
    '2A004'
    """
    if text is None:
        return ""
    if isinstance(text, float):
        if math.isnan(text):
            return ""
        if text.is_integer():
            return str(int(text))
    value = unicodedata.normalize("NFKC", str(text)).strip()
    value = _TRAILING_DECIMAL.sub("", value)
    return _CODE_NOISE.sub("", value).upper()


_CODE_SHAPE = re.compile(r"^(?:\d{4,5}|2[AB]\d{3}|97\d{3})$")


def looks_like_code(token: str) -> bool:
    """Whether a cleaned token has the shape of an INSEE commune code (or lost its zero)."""
    return bool(_CODE_SHAPE.match(token))


def slug(text: str) -> str:
    """Identifier made of ascii letters, digits and hyphens."""
    value = label_key(text).replace(" ", "-")
    return value or "perimetre"
