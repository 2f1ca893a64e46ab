"""A seeded synthetic multi-platform identity-linking suite, run through the live recording path.

Shared by ``benchmarks/bench_identity.py`` (the measurement) and
``tests/test_identity_linking_suite.py`` (the regression gate). Every line is a short synthetic
line written here (never anything from ``shared/data``); numbers, IBANs, wallet addresses and
handles are generated from the seed (IBANs and Bitcoin addresses with valid check digits, phone
numbers in valid mobile ranges of the person's country); e-mail domains are ``example.*``.

**People.** Each synthetic person has a home country (GB, NL, BE, DE, PH: the countries of the
shipped personas, so the lines are in en, nl, de or tl) and one *link kind*: the identifier they
volunteer again on every reappearance (``phone``, ``payment``: PayPal.me, IBAN, GCash, Bitcoin or
Ethereum address, ``handle``: Snapchat, Instagram, Telegram, Kik, Discord, ``email``) or a chain
(``mixed``: a phone first, phone and handle next, the handle alone last). A *returning* person has
2-4 conversations, each with another persona and/or platform under a fresh platform handle, and
writes the identifier in a different rendering each time: international or national format (the
national one only to a persona of the same country), spaced out, full-width digits, spelled out
in the line's language, ``wa.me`` links, obfuscated e-mail, grouped or compact IBAN, profile URLs.

**Hard negatives** (different people, must never be linked): two people whose numbers (IBANs,
handles, e-mail addresses) differ in one character; the same name on another platform; a shop's
phone number mentioned by two people; the same video or post URL shared by two people; the same
common first name and near-identical small talk; the same game code. Every negative pair is
labelled with the kind it tests, so precision is reported per kind too.

**Running and scoring**: ``benchmarks/identity_run.py`` (the live path, then pairwise figures
and the evidence check).
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CALLING", "COUNTRY_OF", "KINDS", "Conversation", "Suite", "generate"]

KINDS = ("phone", "payment", "handle", "email", "mixed")
"""Link kinds of returning people (and labels of hard-negative pairs, plus ``other``)."""

PERSONAS = {"GB": "gb-ellie", "NL": "nl-daan", "BE": "be-noor", "DE": "de-lena", "PH": "ph-angel"}
COUNTRY_OF = {p: c for c, p in PERSONAS.items()}
LANG = {"gb-ellie": "en", "nl-daan": "nl", "be-noor": "nl", "de-lena": "de", "ph-angel": "tl"}
CALLING = {"GB": "44", "NL": "31", "BE": "32", "DE": "49", "PH": "63"}
PLATFORMS = ("xmpp", "irc", "matrix")

SMALL_TALK = {
    "en": ["hi", "hey whats up", "how was your day", "i like football", "lol same", "cool"],
    "nl": ["hoi", "hoe gaat het", "wat doe je vandaag", "ik hou van voetbal", "haha ja", "leuk"],
    "de": ["hallo", "wie gehts", "was machst du heute", "ich mag fussball", "haha ja", "cool"],
    "tl": ["hi po", "kumusta ka", "anong ginagawa mo", "mahilig ako sa basketball", "ayos"],
}
# "{x}" is the rendered identifier
SAY = {
    "phone": {
        "en": ["text me on {x}", "my number is {x}", "whatsapp me {x}"],
        "nl": ["app me op {x}", "mijn nummer is {x}", "bel me {x}"],
        "de": ["meine nummer ist {x}", "schreib mir auf whatsapp {x}", "ruf mich an {x}"],
        "tl": ["text mo ko sa {x}", "number ko {x}", "eto number ko {x}"],
    },
    "handle": {
        "en": ["add me on {x}", "my {x}", "{x} add me"],
        "nl": ["voeg me toe op {x}", "mijn {x}", "{x} voeg me toe"],
        "de": ["adde mich auf {x}", "mein {x}", "{x} adde mich"],
        "tl": ["add mo ko sa {x}", "eto {x}", "{x} add mo ko"],
    },
    "payment": {
        "en": ["for the game skins: {x}", "this is mine {x}"],
        "nl": ["voor de game skins: {x}", "dit is die van mij {x}"],
        "de": ["fuer die game skins: {x}", "das ist meins {x}"],
        "tl": ["para sa game skins: {x}", "ito yung akin {x}"],
    },
    "email": {
        "en": ["mail me {x}", "my email is {x}"],
        "nl": ["mail me {x}", "mijn mail is {x}"],
        "de": ["schreib mir eine mail {x}", "meine mail ist {x}"],
        "tl": ["email mo ko {x}", "email ko {x}"],
    },
}
SHOP = {
    "en": "the pizza place near me is {x} lol",
    "nl": "de snackbar bij mij is {x} haha",
    "de": "die pizzeria bei mir hat {x} haha",
    "tl": "yung tindahan sa amin {x} haha",
}
CODE = {
    "en": "join my game with code {x}",
    "nl": "doe mee met code {x}",
    "de": "komm in mein spiel code {x}",
    "tl": "sali ka code {x}",
}
SHARED_URLS = (
    "https://www.youtube.com/watch?v=fake0vid1",
    "https://www.tiktok.com/@fake_creator/video/7100000000000000001",
    "https://instagram.com/p/FAKEPOST1/",
)
SHARE = {
    "en": "look at this {x}",
    "nl": "kijk dit {x}",
    "de": "schau mal {x}",
    "tl": "tingnan mo to {x}",
}
FIRST_NAMES = ("jay", "tom", "kim", "sam", "lee", "max", "ben", "nico", "luca", "mark")
NAME_LINE = {
    "en": "im {x} btw",
    "nl": "ik ben {x} trouwens",
    "de": "ich bin {x}",
    "tl": "ako si {x}",
}
DIGIT_WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "nl": ["nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"],
    "de": ["null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun"],
    "tl": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}
# mobile ranges that libphonenumber (and the national plans) accept: national number after the
# calling code, as (prefix, digits to add)
MOBILE = {
    "GB": [("74", 8), ("75", 8), ("78", 8), ("79", 8)],
    "NL": [("61", 7), ("62", 7), ("63", 7), ("64", 7), ("65", 7)],
    "BE": [("47", 7), ("48", 7), ("49", 7)],
    "DE": [("151", 8), ("160", 7), ("170", 7), ("176", 8)],
    "PH": [("917", 7), ("918", 7), ("927", 7), ("945", 7)],
}
LANDLINE = {"GB": ("20", 8), "NL": ("20", 7), "BE": ("2", 7), "DE": ("30", 7), "PH": ("2", 7)}
IBAN_BANKS = {
    "NL": ["ABNA", "INGB", "RABO"],
    "DE": ["37040044", "10010010", "50010517"],
    "GB": ["WEST", "BARC", "NWBK"],
}
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Conversation:
    """One appearance of a person: a conversation with ``persona`` on ``platform`` as ``sender``.

    ``lines``: the contact's lines in order (the persona's replies are not scripted).
    """

    person: int
    persona: str
    platform: str
    sender: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Suite:
    """A generated suite: conversations (in the order they are run) and the truth.

    ``link_kind``: person -> kind of the identifier they repeat (returning people only);
    ``negative_kind``: frozenset of two persons -> kind of the hard negative between them.
    """

    seed: int
    n_people: int
    conversations: tuple[Conversation, ...]
    link_kind: dict[int, str]
    negative_kind: dict[frozenset[int], str]


@dataclass
class _Person:
    id: int
    country: str
    kind: str | None = None  # link kind of a returning person
    phone: str | None = None  # national number after the calling code
    handle: tuple[str, str] | None = None  # (platform, name)
    payment: tuple[str, str] | None = None  # (scheme, value)
    email: str | None = None
    visits: int = 1
    extra: list[str] = field(default_factory=list)  # extra lines (hard negatives), by visit 0


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _mobile(rng: random.Random, country: str) -> str:
    prefix, n = rng.choice(MOBILE[country])
    return prefix + _digits(rng, n)


def _name(rng: random.Random) -> str:
    sep = rng.choice(["_", ".", ""])
    return f"{rng.choice(FIRST_NAMES)}{sep}{rng.choice('xyzqk')}{_digits(rng, 3)}"


def _iban(rng: random.Random, country: str, bban: str | None = None) -> str:
    """A valid IBAN of ``country`` (GB, NL, BE, DE), random or with ``bban`` (BE: its national
    check digits recomputed)."""
    from stdnum import iban

    if country == "BE":
        acct = (bban or "001" + _digits(rng, 7))[:10]
        bban = acct + f"{int(acct) % 97 or 97:02d}"
    elif bban is None:
        n = {"NL": 10, "DE": 10, "GB": 14}[country]
        bban = rng.choice(IBAN_BANKS[country]) + _digits(rng, n)
    return country + iban.calc_check_digits(country + "00" + bban) + bban


def _btc(rng: random.Random) -> str:
    payload = b"\x00" + rng.randbytes(20)
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(payload + check, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" + out  # one leading zero byte


def _payment(rng: random.Random, country: str) -> tuple[str, str]:
    choices = ["paypal", "btc", "eth"] + (["gcash"] if country == "PH" else ["iban", "iban"])
    scheme = rng.choice(choices)
    if scheme == "paypal":
        return scheme, _name(rng).replace(".", "")
    if scheme == "btc":
        return scheme, _btc(rng)
    if scheme == "eth":
        return scheme, "0x" + rng.randbytes(20).hex()
    if scheme == "gcash":
        return scheme, _mobile(rng, "PH")
    return scheme, _iban(rng, "GB" if country == "GB" else country)


def _one_off(value: str, rng: random.Random) -> str:
    """``value`` with one digit changed (a digit that is not the first)."""
    spots = [i for i, c in enumerate(value) if c.isdigit() and i > 0]
    i = rng.choice(spots)
    new = rng.choice([d for d in "0123456789" if d != value[i]])
    return value[:i] + new + value[i + 1 :]


# -- renderings ----------------------------------------------------------------------------------
def _group(s: str, sizes: Sequence[int]) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return " ".join(p for p in out if p)


def render_phone(
    rng: random.Random, national: str, country: str, persona_country: str, lang: str
) -> str:
    """One written form of the number ``+CC national``; national forms only at home."""
    cc = CALLING[country]
    forms = ["e164_spaced", "e164", "00", "wa", "trunk_paren"]
    if country == persona_country:
        forms += ["national", "national_dash", "spaced", "fullwidth", "words"]
    form = rng.choice(forms)
    local = "0" + national
    if rng.random() < 0.08:  # letters for digits: a form the linker does not read (a miss)
        return f"+{cc} {national}".replace("0", "o").replace("1", "l")
    if form == "e164_spaced":
        return f"+{cc} {_group(national, [3, 3, 4])}"
    if form == "e164":
        return f"+{cc}{national}"
    if form == "00":
        return f"00{cc} {national}"
    if form == "wa":
        return f"wa.me/{cc}{national}"
    if form == "trunk_paren":
        return f"+{cc} (0){national}"
    if form == "national":
        return _group(local, [4, 3, 4])
    if form == "national_dash":
        return f"{local[:2]}-{local[2:]}"
    if form == "spaced":
        return " ".join(local)
    if form == "fullwidth":
        return "".join(chr(0xFF10 + int(d)) for d in local)
    return " ".join(DIGIT_WORDS[lang][int(d)] for d in local)


def render_handle(rng: random.Random, platform: str, name: str, lang: str) -> str:
    """One written form of a handle (the ``SAY`` template supplies the verb)."""
    is_word = {"en": "is", "nl": "is", "de": "ist", "tl": "ay"}[lang]
    forms: dict[str, list[str]] = {
        "snap": [f"snap: {name}", f"snapchat: {name}", f"snap {is_word} {name}", f"snap @{name}"],
        "instagram": [
            f"insta: {name}",
            f"ig @{name}",
            f"instagram.com/{name}",
            f"insta {is_word} @{name}",
        ],
        "telegram": [f"telegram @{name}", f"t.me/{name}", f"tg: {name}"],
        "kik": [f"kik: {name}", f"kik {is_word} {name}"],
        "discord": [f"discord {name}#{1000 + sum(map(ord, name)) % 9000}"],
    }
    if rng.random() < 0.1:  # no marker ("snap name"): not read, like "snap later" (a miss)
        return f"{platform} {name}"
    return rng.choice(forms[platform])


def render_payment(rng: random.Random, scheme: str, value: str, persona_country: str) -> str:
    """One written form of a payment reference."""
    if scheme == "paypal":
        return rng.choice(
            [f"paypal.me/{value}", f"https://www.paypal.me/{value}", f"paypal: {value}"]
        )
    if scheme == "iban":
        return rng.choice(
            [value, _group(value, [4] * 9), value.lower(), f"IBAN {_group(value, [4] * 9)}"]
        )
    if scheme == "gcash":
        local = "0" + value
        return rng.choice(
            [f"gcash {local}", f"gcash +63 {value}", f"GCash: {_group(local, [4, 3, 4])}"]
        )
    return value  # wallet addresses are written as they are


def render_email(rng: random.Random, email: str) -> str:
    """One written form of an e-mail address (plain or obfuscated)."""
    local, domain = email.split("@")
    host, tld = domain.rsplit(".", 1)
    return rng.choice(
        [
            email,
            email.upper() if rng.random() < 0.2 else email,
            f"{local} at {host} dot {tld}",
            f"{local} [at] {host} [dot] {tld}",
            f"{local}(at){host}.{tld}",
        ]
    )


# -- generation ----------------------------------------------------------------------------------
def generate(n_people: int = 200, seed: int = 0) -> Suite:
    """A suite of ``n_people`` people (about half returning, a fifth in hard-negative pairs).

    Deterministic in ``(n_people, seed)``. Raises ``ValueError`` for ``n_people < 10``.
    """
    if n_people < 10:
        raise ValueError("need at least 10 people")
    rng = random.Random(seed)
    countries = list(PERSONAS)
    people = [_Person(i, rng.choice(countries)) for i in range(n_people)]
    link_kind: dict[int, str] = {}
    negative: dict[frozenset[int], str] = {}

    used: set[str] = set()

    def unique(draw: Any) -> Any:
        """A fresh draw (distinct people never share an identifier by chance)."""
        while True:
            value = draw()
            key = str(value)
            if key not in used:
                used.add(key)
                return value

    def fill(p: _Person, kind: str) -> None:
        if kind in ("phone", "mixed"):
            p.phone = unique(lambda: _mobile(rng, p.country))
        if kind in ("handle", "mixed"):
            plat = rng.choice(["snap", "instagram", "telegram", "kik", "discord"])
            p.handle = (plat, unique(lambda: _name(rng)))
        if kind == "payment":
            p.payment = unique(lambda: _payment(rng, p.country))
        if kind == "email":
            tld = {"GB": "com", "NL": "nl", "BE": "be", "DE": "de", "PH": "ph"}[p.country]
            p.email = f"{unique(lambda: _name(rng))}@example.{tld}"

    kinds = ["phone", "payment", "handle", "email", "mixed"]
    n_return = n_people // 2
    n_neg = n_people // 5
    for p in people[:n_return]:  # returning people
        p.kind = kinds[p.id % len(kinds)]
        p.visits = rng.choice([2, 2, 3, 4]) if p.kind != "mixed" else 3
        fill(p, p.kind)
        link_kind[p.id] = p.kind
    # hard negatives: pair person j (one visit, or returning) with a near copy
    pool = people[n_return : n_return + 2 * n_neg]
    for a, b in zip(pool[0::2], pool[1::2], strict=False):
        case = rng.choice(
            [
                "phone",
                "payment",
                "handle",
                "handle_platform",
                "email",
                "shop",
                "url",
                "name",
                "code",
            ]
        )
        b.country = a.country
        if case == "phone":
            fill(a, "phone")
            b.phone = unique(lambda a=a: _one_off(a.phone or "", rng))
        elif case == "payment":
            a.payment = unique(lambda a=a: _payment(rng, a.country))
            scheme, value = a.payment
            if scheme == "iban":  # another valid IBAN, one account digit apart
                bban = value[4:]
                spot = len(bban) - 4 if value[:2] == "BE" else len(bban) - 1
                digit = str((int(bban[spot]) + 1) % 10)
                b.payment = (scheme, _iban(rng, value[:2], bban[:spot] + digit + bban[spot + 1 :]))
            elif scheme in ("btc", "eth"):
                b.payment = unique(lambda a=a: _payment(rng, a.country))  # another wallet
            else:
                b.payment = (scheme, _one_off(value, rng))
        elif case in ("handle", "handle_platform"):
            fill(a, "handle")
            plat, name = a.handle or ("snap", "x")
            if case == "handle":
                b.handle = (plat, name.replace("_", ".") if "_" in name else name + "_")
            else:
                b.handle = ("kik" if plat != "kik" else "snap", name)
            case = "handle"
        elif case == "email":
            fill(a, "email")
            local, _ = (a.email or "x@example.com").split("@")
            b.email = f"{local}@example.org"
        elif case == "shop":
            prefix, n = LANDLINE[a.country]
            number = unique(lambda prefix=prefix, n=n: prefix + _digits(rng, n))
            for p in (a, b):
                p.extra.append(f"shop:{number}")
            case = "phone"
        elif case == "code":
            code = unique(lambda: _digits(rng, 8))
            for p in (a, b):
                p.extra.append(f"code:{code}")
            case = "phone"
        elif case == "url":
            url = rng.choice(SHARED_URLS)
            for p in (a, b):
                p.extra.append(f"url:{url}")
            case = "handle"
        else:
            first = rng.choice(FIRST_NAMES)
            for p in (a, b):
                p.extra.append(f"name:{first}")
            case = "other"
        negative[frozenset((a.id, b.id))] = case
    conversations: list[Conversation] = []
    senders = itertools.count(1)
    for p in people:
        for visit in range(p.visits):
            persona = PERSONAS[p.country] if rng.random() < 0.5 else rng.choice(list(COUNTRY_OF))
            lang = LANG[persona]
            lines = rng.sample(SMALL_TALK[lang], 2)
            lines += _disclosures(rng, p, visit, persona, lang)
            lines.append(rng.choice(SMALL_TALK[lang]))
            conversations.append(
                Conversation(
                    p.id, persona, rng.choice(PLATFORMS), f"c{next(senders):05d}", tuple(lines)
                )
            )
    rng.shuffle(conversations)
    return Suite(seed, n_people, tuple(conversations), link_kind, negative)


def _disclosures(rng: random.Random, p: _Person, visit: int, persona: str, lang: str) -> list[str]:
    pc = COUNTRY_OF[persona]
    out: list[str] = []
    phone_now = p.phone is not None and not (p.kind == "mixed" and visit == 2)
    handle_now = p.handle is not None and not (p.kind == "mixed" and visit == 0)
    if phone_now and p.phone:
        x = render_phone(rng, p.phone, p.country, pc, lang)
        out.append(rng.choice(SAY["phone"][lang]).format(x=x))
    if handle_now and p.handle:
        x = render_handle(rng, p.handle[0], p.handle[1], lang)
        out.append(rng.choice(SAY["handle"][lang]).format(x=x))
    if p.payment:
        x = render_payment(rng, p.payment[0], p.payment[1], pc)
        out.append(rng.choice(SAY["payment"][lang]).format(x=x))
    if p.email:
        out.append(rng.choice(SAY["email"][lang]).format(x=render_email(rng, p.email)))
    if visit == 0:
        for extra in p.extra:
            what, value = extra.split(":", 1)
            if what == "shop":
                cc = CALLING[p.country]
                x = (
                    rng.choice([f"0{value[:2]} {value[2:]}", f"+{cc} {value}"])
                    if pc == p.country
                    else f"+{cc} {value}"
                )
                out.append(SHOP[lang].format(x=x))
            elif what == "code":
                out.append(CODE[lang].format(x=value))
            elif what == "url":
                out.append(SHARE[lang].format(x=value))
            else:
                out.append(NAME_LINE[lang].format(x=value))
    return out
