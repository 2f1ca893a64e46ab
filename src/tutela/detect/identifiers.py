"""Identifiers a contact discloses in chat: e-mail, phone, handles elsewhere, payment refs, URLs.

Contact profiles link identities across personas and platforms (``tutela.cases``); a contact who
moves the chat elsewhere ("add me on snap: ...", the platform-switch stage) or asks to be paid
("gcash 09..."; Sweetie 2.0's webcam-for-payment pattern) discloses such identifiers. This module
only *reads* them from one line of raw text (before normalisation, so offsets index the line as
received); linking and storage belong to the contact-profile code.

Kinds and value formats (values are normalised so that equal identities compare equal):

=============  =================================================================================
kind           value
=============  =================================================================================
``email``      lower-cased address; ``name at example dot com`` / ``name[at]example[dot]com``
               are read as ``name@example.com`` (only with a common top-level domain)
``phone``      E.164 (``+`` and digits) for international numbers (``+``/``00`` prefix) and for
               national numbers with a trunk ``0`` when ``region`` (or ``country_code``) is given
               (libphonenumber, the ``phonenumbers`` package, parses and validates); an
               international number libphonenumber does not know keeps ``+`` and its digits;
               without a region a national number is its digits
``handle``     ``platform:name`` lower-cased, e.g. ``snap:name``, ``discord:name#1234``
``payment_ref`` ``service:ref``: ``gcash:+639...``, ``maya:+639...``, ``paypal:name@example.com``,
               ``paypal:name``, ``venmo:name``, ``cashapp:name``, ``iban:NL91ABNA0417164300``
               (compact, upper case, check digits and national format valid: ``python-stdnum``),
               ``btc:1...``/``btc:bc1...`` (checksum valid, ``python-stdnum``), ``eth:0x...``
               (40 hex digits, lower case)
``url``        ``https://host/path`` with the host lower-cased and ``www.`` dropped
=============  =================================================================================

A profile URL of a known platform (``t.me/name``, ``instagram.com/name``, ``paypal.me/name``...)
gives both a ``url`` and the matching ``handle``/``payment_ref`` with the same span. Otherwise,
where two findings overlap, the more specific wins: payment_ref > email > url > handle > phone.
Handles need an explicit marker (``:``, ``is``/``ist``/``ay``, ``@``, ``id``, a ``#1234`` tag)
after the platform name, to keep "add me on snap later" from yielding a handle ``later``.

Numbers are read in any script's decimal digits (full-width ``０６...`` reads as ``06...``), spaced
out digit by digit, and spelled out digit by digit in English, Dutch, German or Tagalog ("zero six
one two ...", "nul zes een twee ...", "null sechs eins ...", "sero siyam isa ..."; at least seven
digit words, and only when libphonenumber accepts the result as a valid number). With a region, a
digit run without ``+``, ``00`` or a trunk ``0`` is not a phone number (game codes, order numbers:
every supported country writes national numbers with the trunk ``0``).

**Someone else's identifier.** An identifier whose clause (the text before it, back to the last
sentence end, at most 60 characters) names a third party — a shop, a service, a relative or
friend, or "code"/"order"/"pin" for numbers — is not the contact's own and is not returned (a
pizzeria's number mentioned by two contacts must not make them one person). This favours
precision: "my mum's number is ..." is dropped too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from stdnum import bitcoin, iban

__all__ = ["KINDS", "DisclosedIdentifier", "extract_identifiers"]

KINDS = ("email", "phone", "handle", "payment_ref", "url")
"""Every ``DisclosedIdentifier.kind``."""


@dataclass(frozen=True, slots=True)
class DisclosedIdentifier:
    """One identifier found in a line.

    Attributes
    ----------
    kind: one of :data:`KINDS`.
    value: the normalised identifier (see the module table).
    start, end: character offsets of the evidence in the raw text (``text[start:end]``).
    """

    kind: str
    value: str
    start: int
    end: int


_I = re.IGNORECASE


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TLDS = (
    "com|net|org|edu|gov|info|biz|io|me|co|uk|us|ca|au|nz|ie|de|nl|be|fr|es|it|pt|ch|at|se|no|dk|"
    "fi|pl|cz|ru|ua|ph|in|id|my|sg|th|vn|jp|kr|cn|hk|tw|br|mx|ar|za|ng|ke"
)
_LOCAL = r"[a-z0-9][a-z0-9._%+-]*"
_EMAIL = re.compile(
    rf"(?<![\w.%+-])({_LOCAL})@([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}})(?![\w-])", _I
)
_AT = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+)"
_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\.)"
_DOT_RE = re.compile(_DOT, _I)
_BRACKETED_AT = re.compile(r"[\[({<]\s*at\s*[\])}>]", _I)
# Words around a bare " at " that make "look at me dot com" prose rather than an address.
_PROSE_LOCAL = _words(
    "look looking looked stare staring laugh laughing smile smiling mad angry good bad great "
    "home school work arrive arrived be am are is was were me you him her us them it this that "
    "lol haha"
)
_PROSE_DOMAIN = _words("me you him her us them it this that home school work")
_OBF_EMAIL = re.compile(
    rf"(?<![\w.%+-])(?P<local>{_LOCAL}){_AT}"
    rf"(?P<domain>[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*){_DOT}(?P<tld>{_TLDS})\b",
    _I,
)

_PLATFORM_HOSTS = (
    r"instagram\.com|facebook\.com|fb\.com|twitter\.com|x\.com|tiktok\.com|t\.me|telegram\.me|"
    r"snapchat\.com|kik\.me|wa\.me|discord\.gg|discord\.com|paypal\.me|paypal\.com|onlyfans\.com"
)
_URL = re.compile(
    rf"(?:\bhttps?://|\bwww\.|(?<![\w.@/-])(?:{_PLATFORM_HOSTS})/)[^\s<>\"'`]+",
    _I,
)
_URL_TRAIL = ".,!?;:)]}'\""

_NAME = r"[a-z0-9_][a-z0-9_.-]{1,31}"
_PLATFORMS: dict[str, str] = {
    "snapchat": "snap",
    "snap": "snap",
    "sc": "snap",
    "kik": "kik",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "telegram": "telegram",
    "tele": "telegram",
    "tg": "telegram",
    "discord": "discord",
    "skype": "skype",
    "wechat": "wechat",
    "tiktok": "tiktok",
    "wickr": "wickr",
    "twitter": "twitter",
}
_HANDLE = re.compile(
    rf"\b(?P<platform>{'|'.join(sorted(_PLATFORMS, key=len, reverse=True))})\b"
    r"(?P<glue>(?:\s+(?:me|on|name|id|user(?:name)?|handle|acc(?:ount)?))*)"
    r"\s*(?P<sep>:|=|-|\bis\b|\bist\b|\bay\b|\bit'?s\b|\bat\b)?\s*(?P<at>@)?"
    rf"(?P<name>{_NAME}(?:#\d{{4}})?)",
    _I,
)
_STOPWORDS = _words(
    "a an and at be because bc but down for gone here i if is it its later me my name no not now "
    "ok okay on or pls please plz same so soon the then there this tho to too u ur want was what "
    "when where why will with yes you your broken blocked dead deleted private"
)

_PHONE_CHARS = r"\d[\d ().-]{5,18}\d"
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d(?:[ ().-]{0,3}\d){6,15}(?![\w])")
_SPACED_OUT = re.compile(r"^\+?\d(?: \d)+$")
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$")

_PH_WALLET = re.compile(
    rf"\b(?P<svc>g-?cash|paymaya|maya)\b[^\d+\n]{{0,20}}?(?P<num>(?:\+|00)?{_PHONE_CHARS})(?![\w])",
    _I,
)
_PAYPAL = re.compile(
    r"\bpaypal\b(?:\s+(?:me|at|is|to|acc(?:ount)?|id|name))*\s*[:=-]?\s*"
    rf"(?:(?P<email>{_LOCAL}@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}})|@?(?P<name>{_NAME}))",
    _I,
)
_VENMO = re.compile(rf"\bvenmo\b\s*(?:is\s+|:|=|-)?\s*@(?P<name>{_NAME})", _I)
_CASHAPP = re.compile(
    r"(?:\bcash\s?app\b\s*(?:is\s+|:|=|-)?\s*|(?<![\w$]))\$(?P<name>[a-z][a-z0-9_]{1,19})\b", _I
)

_PRIORITY = {"payment_ref": 0, "email": 1, "url": 2, "handle": 3, "phone": 4}


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _phone_value(raw: str, country_code: str | None, region: str | None = None) -> str | None:
    """Normalised phone number, or ``None`` when ``raw`` does not look like one.

    ``region``: ISO 3166-1 alpha-2 of the national numbering plan for numbers without ``+``/``00``
    (libphonenumber parses and validates); ``country_code``: the older calling-code form.
    """
    body = raw.strip()
    if _DATE.match(body) or _THOUSANDS.match(body):
        return None
    digits = _digits(body)
    international = body.startswith(("+", "00"))
    if region is not None and (international or digits.startswith("0")):
        try:
            number = phonenumbers.parse("+" + digits[2:] if body.startswith("00") else body, region)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not international:
            return None  # a national number the region's plan does not have
    elif region is not None:
        return None  # no +, 00 or trunk 0: a code, an amount, an order number
    if body.startswith("+"):
        international_digits = digits
    elif body.startswith("00"):
        international_digits = digits[2:]
    elif country_code and digits.startswith("0"):
        international_digits = _digits(country_code) + digits[1:]
    else:
        return digits if 7 <= len(digits) <= 15 else None
    if international:
        try:
            number = phonenumbers.parse("+" + international_digits, None)
        except phonenumbers.NumberParseException:
            number = None
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"+{international_digits}" if 8 <= len(international_digits) <= 15 else None


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script as its ASCII digit (same length)."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in text
    )


_DIGIT_WORDS: dict[str, str] = {}
for _digit, _names in enumerate(
    (
        "zero oh nul null sero cero",
        "one een eins isa uno",
        "two twee zwei dalawa dos",
        "three drie drei tatlo tres",
        "four vier apat kwatro",
        "five vijf fünf fuenf funf lima singko",
        "six zes sechs anim sais",
        "seven zeven sieben pito siyete",
        "eight acht walo otso",
        "nine negen neun siyam nuwebe",
    )
):
    for _w in _names.split():
        _DIGIT_WORDS[_w] = str(_digit)
_WORD_RUN = re.compile(
    r"(?<![\w+])(?P<plus>plus\s+)?(?P<run>(?:"
    + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
    + r")(?:[\s,-]+(?:"
    + "|".join(sorted(_DIGIT_WORDS, key=len, reverse=True))
    + r")){6,15})\b",
    _I,
)

# Words that attribute an identifier to someone else (en, nl, de, tl): shops and services,
# relatives and friends, third-person possessives. ``_NUMBER_CUES`` only apply to numbers.
_THIRD_PARTY = _words(
    "pizza pizzeria pizzaria shop shops store restaurant cafe café snackbar winkel zaak laden "
    "geschäft geschaeft tindahan kainan office kantoor büro buero school schule paaralan doctor "
    "dokter arzt hospital ziekenhuis krankenhaus ospital police politie polizei pulis helpline "
    "hotline service klantenservice kundenservice taxi hotel cinema bioscoop kino salon kapper "
    "friseur mom mum mommy mama moms mums mother dad daddy papa dads father moeder vader mutter "
    "vater mutti vati nanay tatay brother brothers sister sisters broer zus bruder schwester "
    "kuya friend friends friend's vriend vriendin freund freundin kaibigan boss baas his her "
    "their haar hun seine niya nila"
)
_NUMBER_CUES = _words(
    "code codes pin order bestelling bestellung bestellnummer tracking ticket kode"
)
_CLAUSE_END = re.compile(r"[.!?\n;]")
_WORD = re.compile(r"[^\W\d_]+(?:'s)?", re.UNICODE)


def _third_party(text: str, start: int, kind: str) -> bool:
    """True when the clause before ``text[start]`` attributes the identifier to someone else."""
    before = text[max(0, start - 60) : start]
    ends = list(_CLAUSE_END.finditer(before))
    if ends:
        before = before[ends[-1].end() :]
    for w in _WORD.findall(before.lower()):
        base = w.removesuffix("'s")
        if w in _THIRD_PARTY or base in _THIRD_PARTY:
            return True
        if kind == "phone" and base in _NUMBER_CUES:
            return True
    return False


_IBAN = re.compile(r"(?<![\w])[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?(?![\w])", _I)
_BTC = re.compile(
    r"(?<![\w])(?:[13][1-9a-km-zA-HJ-NP-Z]{25,34}|bc1[02-9ac-hj-np-z]{11,71})(?![\w])", _I
)
_ETH = re.compile(r"(?<![\w])0x[0-9a-f]{40}(?![\w])", _I)


def _ph_mobile(raw: str) -> str | None:
    digits = _digits(raw)
    if raw.strip().startswith("00"):
        digits = digits[2:]
    if digits.startswith("63"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = digits[1:]
    else:
        rest = digits
    return f"+63{rest}" if len(rest) == 10 else None


def _url_derived(host: str, path: str) -> tuple[str, str] | None:
    """``(kind, value)`` of the handle or payment reference a profile URL names, if any."""
    parts = [p for p in re.split(r"[?#]", path, maxsplit=1)[0].split("/") if p]
    if not parts:
        return None
    first = parts[0].lstrip("@").lower()
    if not re.fullmatch(_NAME, first, _I):
        return None
    simple = {
        "instagram.com": "instagram",
        "tiktok.com": "tiktok",
        "t.me": "telegram",
        "telegram.me": "telegram",
        "kik.me": "kik",
        "twitter.com": "twitter",
        "x.com": "twitter",
        "facebook.com": "facebook",
        "fb.com": "facebook",
    }
    if host in simple and len(parts) == 1 and first not in {"p", "reel", "profile.php", "share"}:
        return "handle", f"{simple[host]}:{first}"
    if host == "snapchat.com" and first == "add" and len(parts) > 1:
        return "handle", f"snap:{parts[1].lower()}"
    if host == "paypal.me" or (host == "paypal.com" and first == "paypalme" and len(parts) > 1):
        name = first if host == "paypal.me" else parts[1].lower()
        return "payment_ref", f"paypal:{name}"
    if host == "wa.me" and first.isdigit():
        return "phone", f"+{first}"
    return None


def extract_identifiers(
    text: str, *, country_code: str | None = None, region: str | None = None
) -> list[DisclosedIdentifier]:
    """Find the identifiers disclosed in one raw chat line.

    Parameters
    ----------
    text:
        The line as received (not normalised); offsets refer to it.
    country_code:
        Calling code (e.g. ``"63"``) of the numbering plan for local numbers with a trunk ``0``;
        used as ``region`` (its main region) when ``region`` is not given.
    region:
        ISO 3166-1 alpha-2 code (e.g. ``"NL"``; the persona's country in the live path) of the
        numbering plan for national numbers; ``None`` (and no ``country_code``) keeps national
        numbers as plain digits. An unknown code is treated as ``None``.

    Returns
    -------
    list[DisclosedIdentifier]
        In text order (then by kind precedence); an identifier repeated in the line is listed at
        each occurrence. Empty when nothing is found. Never raises on any ``str``.
    """
    if region is None and country_code and _digits(country_code):
        main = phonenumbers.region_code_for_country_code(int(_digits(country_code)[:3]))
        region = None if main == "ZZ" else main
    if region is not None:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            region = None
    raw_text = text
    text = _ascii_digits(text)
    found: list[tuple[int, int, DisclosedIdentifier]] = []  # (priority, group, identifier)
    group = 0

    def add(kind: str, value: str, start: int, end: int, same_group: bool = False) -> None:
        nonlocal group
        if not same_group:
            group += 1
        found.append((_PRIORITY[kind], group, DisclosedIdentifier(kind, value, start, end)))

    for m in _PH_WALLET.finditer(text):
        value = _ph_mobile(m["num"])
        if value is not None:
            svc = "gcash" if "cash" in m["svc"].lower() else "maya"
            add("payment_ref", f"{svc}:{value}", m.start(), m.end())
    for m in _PAYPAL.finditer(text):
        ref = m["email"] or m["name"]
        if m["name"] and (m["name"].lower() in _STOPWORDS or m["name"].lower() == "me"):
            continue
        if m["name"] and text[m.end() : m.end() + 1] in {"@", "."}:
            continue  # part of a longer token, e.g. an obfuscated e-mail
        add("payment_ref", f"paypal:{ref.lower()}", m.start(), m.end())
    for m in _VENMO.finditer(text):
        add("payment_ref", f"venmo:{m['name'].lower().rstrip('.-')}", m.start(), m.end())
    for m in _CASHAPP.finditer(text):
        add("payment_ref", f"cashapp:{m['name'].lower()}", m.start(), m.end())
    for m in _IBAN.finditer(text):
        compact = iban.compact(m.group(0))
        if iban.is_valid(compact):
            add("payment_ref", f"iban:{compact}", m.start(), m.end())
    for m in _BTC.finditer(text):
        address = m.group(0)
        if bitcoin.is_valid(address):
            add("payment_ref", f"btc:{bitcoin.compact(address)}", m.start(), m.end())
    for m in _ETH.finditer(text):
        add("payment_ref", f"eth:{m.group(0).lower()}", m.start(), m.end())

    for m in _EMAIL.finditer(text):
        add("email", f"{m[1]}@{m[2]}".lower(), m.start(), m.end())
    for m in _OBF_EMAIL.finditer(text):
        domain = _DOT_RE.sub(".", m["domain"])
        if not _BRACKETED_AT.search(m.group(0)) and (
            m["local"].lower() in _PROSE_LOCAL or domain.split(".")[0].lower() in _PROSE_DOMAIN
        ):
            continue
        add("email", f"{m['local']}@{domain}.{m['tld']}".lower(), m.start(), m.end())

    for m in _URL.finditer(text):
        raw = m.group(0).rstrip(_URL_TRAIL)
        if len(raw) < 5:
            continue
        bare = re.sub(r"^https?://", "", raw, flags=_I)
        host, _, path = bare.partition("/")
        host = host.lower().removeprefix("www.")
        if "." not in host:
            continue
        value = f"https://{host}/{path}" if path else f"https://{host}"
        end = m.start() + len(raw)
        add("url", value, m.start(), end)
        derived = _url_derived(host, path)
        if derived is not None:
            add(derived[0], derived[1], m.start(), end, same_group=True)

    for m in _HANDLE.finditer(text):
        name = m["name"].rstrip(".-")
        explicit = m["sep"] or m["at"] or "#" in name or re.search(r"id|user|handle", m["glue"], _I)
        if not explicit or name.lower() in _STOPWORDS:
            continue
        end = m.start("name") + len(name)
        if text[end : end + 1] == "@":
            continue  # the start of an e-mail address
        add("handle", f"{_PLATFORMS[m['platform'].lower()]}:{name.lower()}", m.start(), end)

    for m in _PHONE.finditer(text):
        raw = m.group(0)
        if " " in raw.strip() and _SPACED_OUT.match(raw.strip()) and len(_digits(raw)) < 9:
            continue  # "1 2 3 4 5 6 7": counting, not a number
        value = _phone_value(raw, country_code, region)
        if value is not None:
            add("phone", value, m.start(), m.end())
    for m in _WORD_RUN.finditer(text):
        words = [_DIGIT_WORDS.get(w.lower()) for w in re.findall(r"[^\W\d_]+", m["run"])]
        if None in words:
            continue  # a case-folded look-alike ("ſechs"), not a digit word
        digits = "".join(w for w in words if w is not None)
        value = _phone_value(("+" if m["plus"] else "") + digits, None, region or "ZZ")
        if value is not None and value.startswith("+"):
            add("phone", value, m.start(), m.end())

    kept: list[tuple[int, int, DisclosedIdentifier]] = []
    for item in sorted(found, key=lambda f: (f[0], f[2].start)):
        _, grp, ident = item
        clash = any(g != grp and ident.start < k.end and k.start < ident.end for _, g, k in kept)
        if not clash:
            kept.append(item)
    result = sorted(kept, key=lambda f: (f[2].start, f[0]))
    own = [ident for _, _, ident in result if not _third_party(raw_text, ident.start, ident.kind)]
    return list(dict.fromkeys(own))
