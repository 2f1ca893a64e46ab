"""What a contact line asks about: intent + topic, from the same per-line understanding as
detection.

:func:`understand` labels one contact line for the reply policy with an :class:`Understanding`:

* ``intent`` -- :func:`tutela.persona.intents.recognize` (what the line asks or does), raised to
  the intent of a soliciting indicator category that detection reads in the same line when that
  is stronger in :data:`~tutela.persona.intents.PRIORITY`. Detection's reading is the indicator
  lexicon of the conversation language on the matching skeleton
  (:func:`tutela.detect.features.lexicon_for`, :func:`tutela.detect.normalize.normalize`: the
  lexicon hits a :class:`tutela.detect.understand.LineReading` carries) and, when the live engine
  passes its ``LineReading``, the line detector's soliciting labels too. The detector's labels
  (a statistical guess, not a matched word) raise the intent only of a line the persona's own
  rules do not read at all (``unknown`` without a topic): a false label must not turn "hey its me
  again" into a refusal or "is anyone with you" into "eww no" (issue 12);
* ``topic`` -- a finer subject a good reply must address (:data:`TOPICS`: ``pets``, ``alone``,
  ``familiarity``...), or ``None`` when the intent's own bank section fits. A topic applies only
  when its rules match *and* the intent is one the topic refines (:data:`REFINES`), so a topic
  never hides a safety intent it does not belong to ("send a pic of ur dog" stays a photo
  request); detection categories set the topics ``alone`` (risk check), ``isolation``,
  ``police_check`` and ``platform_switch`` (a category-named topic never refines ``secrecy`` or
  ``compliment``: "tell no one" is answered as secrecy, not as isolation);
* a ``plans`` line that asks the persona to go or be somewhere ("r u free tonight", "ga je
  morgen na school mee", :data:`_PLANS_MEETING`) is a ``meeting_request``: refused flatly, never
  answered with a reason that invites negotiation (review P1).

The reply comes from the bank's topic section when it has one for this persona, else from the
intent's section (:meth:`tutela.persona.dialogue.DialogueManager.plan_reply`). Rules are regular
expressions over the persona's own normalised views (:mod:`tutela.persona.intents`), written for
en, nl, de and tl; the English rules apply in every language, as for intents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from tutela.domain import Category
from tutela.persona.intents import PRIORITY, Intent, normalised_views, recognize

__all__ = ["REFINES", "TOPICS", "Understanding", "understand"]

_I = Intent
_SMALL = frozenset(
    {_I.UNKNOWN, _I.GREETING, _I.GOODBYE, _I.HOW_ARE_YOU, _I.WHAT_DOING, _I.PERSONAL_QUESTION}
)
#: topic -> the intents it refines (the topic applies only under one of these)
REFINES: dict[str, frozenset[Intent]] = {
    "familiarity": _SMALL | {_I.MEETING_REQUEST, _I.SCHOOL},
    "pressure": _SMALL | {_I.MEETING_REQUEST, _I.REPEAT_REQUEST},
    "police_check": _SMALL | {_I.AGE_QUESTION, _I.LOCATION_QUESTION},
    "alone": _SMALL | {_I.LOCATION_QUESTION},
    # never SECRECY: "u can trust me, our secret ok?" is refused as a secret (review P7)
    "isolation": _SMALL | {_I.COMPLIMENT},
    "contact_age": _SMALL | {_I.COMPLIMENT, _I.AGE_QUESTION, _I.CONTACT_REQUEST},  # "a number"
    "platform_switch": frozenset({_I.CONTACT_REQUEST, _I.UNKNOWN, _I.GREETING}),
    "looks": frozenset({_I.PHOTO_REQUEST}),
    "name": _SMALL,
    "pets": _SMALL | {_I.HOBBIES},
    "family": _SMALL,
    "intro": frozenset({_I.SCHOOL, _I.GREETING, _I.UNKNOWN}),  # "this is mrs x from school"
    "homework": frozenset({_I.SCHOOL, _I.UNKNOWN, _I.WHAT_DOING}),
    "plans": frozenset({_I.HOBBIES, _I.WHAT_DOING, _I.UNKNOWN, _I.GOODBYE, _I.SCHOOL}),
    "school_name": frozenset({_I.SCHOOL, _I.LOCATION_QUESTION, _I.PERSONAL_QUESTION}),
    "school_year": frozenset({_I.SCHOOL, _I.PERSONAL_QUESTION, _I.UNKNOWN}),
    "games": frozenset({_I.HOBBIES, _I.WHAT_DOING, _I.UNKNOWN, _I.PERSONAL_QUESTION}),
    "music": frozenset({_I.HOBBIES, _I.UNKNOWN, _I.PERSONAL_QUESTION}),
    "news": frozenset({_I.UNKNOWN, _I.HOBBIES, _I.SCHOOL}),  # "our team won today"
    "feeling": frozenset({_I.UNKNOWN, _I.SCHOOL, _I.HOBBIES}),  # "that test was so hard"
    "ack": frozenset({_I.UNKNOWN}),
}
#: intents a topic named only by a detection category never refines
_NO_CATEGORY_TOPIC = frozenset({_I.SECRECY, _I.COMPLIMENT})
TOPICS: tuple[str, ...] = tuple(REFINES)
"""Topic sections a bank may have (``topics:`` in ``banks/<lang>.yaml``), strongest first."""

# Patterns are searched in the normalised views (lower case, folded, no apostrophes).
_RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "familiarity": (
            r"\bsee (you|u|ya) (at|in) (school|class)\b", r"\bremember me\b", r"\bits me\b",
            r"\b(we|i) met\b", r"\b(you|u) know me\b", r"\bfrom (ur|your) (school|class)\b",
            r"\bsee (you|u|ya) (tomorrow|tmrw|later) at\b",
        ),
        "pressure": (
            r"^(ok|okay|yes|yea|deal|right|promise|please|pls|plz)\W*\?+\W*$",
            r"\b(so )?thats a yes\b", r"\byes or no\b", r"\b(just )?(say|type) (yes|ok|okay)\b",
            r"\bcome on\b", r"^(pls|plz|please)\W*$",
        ),
        "police_check": (
            r"\b(are|r) (you|u) (a |an )?(cop|police|bot|fake|real|undercover|adult)\b",
            r"\bis this (a )?(bot|fake|cop|police|real)\b", r"\b(you|u) (a )?(cop|bot)\b",
        ),
        "alone": (
            r"\b(home )?alone\b",
            r"\b(are|r) (your|ur) (parents|mum|mom|dad) (home|there|out|in)\b",
            r"\bwhen do (they|ur parents|your parents) (leave|go)\b",
            r"\bwho is (home|there|with (you|u))\b",
            r"\bis (any|some)(one|body) (home|there|with)\b",
            r"\bwhere are (your|ur) parents\b",
            r"\bis (your|ur) (mum|mom|dad|mother|father) (home|there|in|out|around)\b",
            r"\bwhat time do (your|ur) (parents|mum|mom|dad)\b",
            r"\bwhen (does|do) (your|ur) (parents|mum|mom|dad) (get|come) (home|back)\b",
        ),
        "isolation": (
            r"\b(your|ur) (parents|mum|mom) (dont|wont|never) (understand|get)\b",
            r"\bonly i (understand|get)\b", r"\b(you|u) can trust me\b",
            r"\bno(one|body) (understands|gets) (you|u)\b", r"\bim (your|ur) (only|best) friend\b",
        ),
        "contact_age": (
            r"\bage is (just )?a number\b", r"\bim \d\d\b.{0,20}\b(ok|okay|problem|mind)\b",
            r"\b(do|d) (you|u) mind\b.{0,20}\bolder\b", r"\bim (a bit |way )?older\b",
        ),
        "platform_switch": (
            r"\b(lets|let us|can we) (talk|chat|go|move|switch)\b", r"\badd me (on|to)\b",
            r"\b(on|to) (snap|snapchat|whatsapp|telegram|discord|insta|kik|signal)\b",
            r"\b(other|another|different) app\b", r"\bdownload\b",
        ),
        "looks": (r"\bwhat (do|d) (you|u) look like\b", r"\bdescribe (yourself|urself)\b"),
        "name": (r"\b(your|ur) name\b", r"\bwho (are|r) (you|u)\b", r"\bname\?"),
        "pets": (r"\b(pet|pets|dog|dogs|cat|cats|puppy|kitten|hamster|rabbit|bunny)\b",),
        "family": (
            r"\b(siblings|brother|brothers|sister|sisters|family)\b",
            r"\bwho do (you|u) live with\b",
            r"\b(your|ur) (mum|mom|dad|parents)\b",
        ),
        "intro": (
            r"\b(this is|its|im|i am) (mrs|mr|ms|miss|mx|dr|coach|teacher|your|ur)\b"
            r".{0,30}\bfrom\b",
            r"\b(this is|its) \w+ from (school|class|the school)\b",
        ),
        "homework": (
            r"\b(did|have|done|finish\w*|do) (you|u)\b.{0,25}\b(homework|hw|essay|project)\b",
            r"\b(homework|hw) (done|finished)\b",
        ),
        "plans": (
            r"\b(are|r|will|wanna|want to|(you|u) (wanna|want to)) (you|u|play|go|come)?\b.{0,25}"
            r"\b(later|tonight|tomorrow|tmrw|today|this weekend|after school)\b",
        ),
        "school_name": (
            r"\b(what|which|wat) (school|skool)\b", r"\bwhere (do|d) (you|u) go to school\b",
            r"\bname of (your|ur) school\b",
        ),
        "school_year": (r"\bwhat (year|grade|class)\b", r"\bwhich (year|grade|class)\b",
                        r"\b(year|grade) (are|r) (you|u) in\b"),
        "games": (r"\b(games?|gaming|gamer|play)\b",),
        "music": (r"\b(music|songs?|listen|singer|band)\b",),
        "news": (
            r"\b(we|our team|our class) (just )?(won|scored)\b",
            r"\bi (got picked|got chosen|won)\b",
        ),
        "feeling": (
            r"\b(was|is|were|its|that) (so|soo+|really|super|rly) (hard|boring|easy|fun|annoying|"
            r"difficult|bad|long)\b",
        ),
        "ack": (
            r"^(cool|nice|lol|lmao|haha+|hehe+|same|ok|okay|k|kk|wow|true|fr|oh|ah|hm+|ahh|nvm|"
            r"ikr|yeah|yea|ya|mhm)( (lol|haha|ok|nice|cool))?\W*$",
        ),
    },
    "nl": {
        "familiarity": (r"\btot morgen op school\b", r"\bweet je (nog|wie ik ben)\b",
                        r"\bik ben het\b", r"\bken je me\b", r"\bzie je (morgen )?op school\b"),
        "pressure": (r"^(oke|ja|goed|toe|deal)\W*\?+\W*$", r"\bzeg (nou )?(ja|oke)\b",
                     r"\bja of nee\b", r"\bdus (dat is )?ja\b", r"\btoe nou\b"),
        "police_check": (r"\bben je (een )?(politie|agent|bot|nep|echt)\b",
                         r"\bis dit (een )?(bot|nep)\b"),
        "alone": (r"\balleen( thuis)?\b", r"\bzijn je ouders (thuis|weg|er)\b",
                  r"\bwie is er (thuis|bij je)\b",
                  r"\bis je (moeder|vader|mama|papa) (thuis|er)\b"),
        "isolation": (r"\bje ouders (snappen|begrijpen) (je|het) niet\b",
                      r"\balleen ik (snap|begrijp)\b",
                      r"\bje kunt me vertrouwen\b", r"\bniemand (snapt|begrijpt) je\b"),
        "contact_age": (r"\bleeftijd is maar een getal\b", r"\bik ben (wat |veel )?ouder\b",
                        r"\bvind je het erg\b.{0,20}\bouder\b"),
        "platform_switch": (r"\b(op|naar|via) (snap|snapchat|whatsapp|telegram|discord|insta)\b",
                            r"\bandere app\b", r"\bzullen we (daar|ergens anders)\b"),
        "looks": (r"\bhoe zie je eruit\b",),
        "name": (r"\bhoe heet je\b", r"\bwie ben je\b", r"\bwat is je naam\b"),
        "pets": (r"\b(huisdier|huisdieren|hond|honden|kat|katten|konijn|poes)\b",),
        "family": (r"\b(broer|broers|zus|zussen|zusje|broertje|familie|ouders)\b",
                   r"\bmet wie woon je\b"),
        "intro": (r"\b(dit is|met) (juf|meester|mevrouw|meneer|je)\b.{0,30}\bvan\b",),
        "homework": (r"\b(heb|ben) je\b.{0,25}\b(huiswerk|werkstuk)\b",),
        "plans": (r"\b(ga|ben) je\b.{0,25}\b(straks|vanavond|morgen|later)\b",
                  r"\bspeel je\b.{0,25}\b(straks|vanavond|morgen|later)\b"),
        "school_name": (r"\b(welke|wat voor) school\b", r"\bop welke school\b",
                        r"\bwaar zit je op school\b"),
        "school_year": (r"\b(welke|in welke) (klas|groep|jaar)\b", r"\bwelk jaar\b"),
        "games": (r"\b(games?|gamen|gamer|spelletjes|speel je|gamet)\b",),
        "music": (r"\b(muziek|liedjes?|luister)\b",),
        "news": (r"\b(we|ons team|wij)\b.{0,20}\b(gewonnen|gescoord)\b",),
        "feeling": (r"\b(was|is) (zo|echt|super) (moeilijk|saai|makkelijk|leuk|lang)\b",),
        "ack": (r"^(cool|leuk|nice|lol|haha+|same|oke|ok|k|oh|echt|wauw|jaja|ah|oja)\W*$",),
    },
    "de": {
        "familiarity": (r"\bbis morgen in der schule\b", r"\berinnerst du dich\b", r"\bich bins\b",
                        r"\bkennst du mich\b", r"\bsehen uns (morgen )?in der schule\b"),
        "pressure": (r"^(ok|okay|ja|bitte|deal)\W*\?+\W*$", r"\bsag (doch )?(ja|ok)\b",
                     r"\bja oder nein\b", r"\balso ja\b", r"\bkomm schon\b"),
        "police_check": (r"\bbist du (ein |eine )?(bot|polizist|polizei|fake|echt)\b",
                         r"\bist das (ein )?(bot|fake)\b"),
        "alone": (r"\ballein( zu ?hause)?\b", r"\bsind deine eltern\b.{0,15}\b(da|zu ?hause|weg)\b",
                  r"\bwer ist (da|zu ?hause|bei dir)\b",
                  r"\bist deine (mama|mutter) (da|zu ?hause)\b"),
        "isolation": (r"\bdeine eltern verstehen dich nicht\b", r"\bnur ich versteh\w*\b",
                      r"\bdu kannst mir vertrauen\b", r"\bniemand versteht dich\b"),
        "contact_age": (r"\balter ist (nur )?eine zahl\b", r"\bich bin (etwas |viel )?alter\b",
                        r"\bstort (es )?dich\b.{0,20}\balter\b"),
        "platform_switch": (
            r"\b(auf|zu|uber|bei) (snap|snapchat|whatsapp|telegram|discord|insta)\b",
            r"\bandere app\b", r"\blass uns (dort|woanders)\b",
        ),
        "looks": (r"\bwie siehst du aus\b",),
        "name": (r"\bwie heisst du\b", r"\bwer bist du\b", r"\bdein name\b"),
        "pets": (r"\b(haustier|haustiere|hund|hunde|katze|katzen|hase|kaninchen)\b",),
        "family": (r"\b(bruder|bruder|schwester|geschwister|familie|eltern)\b",
                   r"\bmit wem wohnst du\b"),
        "intro": (r"\b(hier ist|hier spricht|ich bin) (frau|herr|dein|deine)\b"
                  r".{0,30}\b(von|aus)\b",),
        "homework": (r"\b(hast|bist) du\b.{0,25}\b(hausaufgaben|referat)\b",),
        "plans": (r"\b(spielst|zockst|machst|gehst) du\b.{0,25}\b(spater|heute abend|morgen|"
                  r"nachher)\b",),
        "school_name": (r"\b(welche|was fur eine|auf welche) schule\b",
                        r"\bwo gehst du zur schule\b"),
        "school_year": (r"\b(welche|in welcher) klasse\b",),
        "games": (r"\b(games?|zocken|zockst|spielst du|gamer)\b",),
        "music": (r"\b(musik|lieder|lied|horst du)\b",),
        "news": (r"\b(wir|unser team)\b.{0,20}\b(gewonnen|ein tor)\b",),
        "feeling": (r"\b(war|ist) (so|echt|voll|mega) (schwer|langweilig|leicht|lustig|lang)\b",),
        "ack": (r"^(cool|nice|lol|haha+|same|ok|okay|k|oh|krass|echt|achso|aha|nice)\W*$",),
    },
    "tl": {
        "familiarity": (r"\bkita tayo sa school\b", r"\bnaaalala mo (ba )?ako\b",
                        r"\bako (to|ito)\b",
                        r"\bkilala mo (ba )?ako\b", r"\bsee you sa school\b"),
        "pressure": (r"^(ok|okay|sige|oo|ano|g|game)\W*\?+\W*$",
                     r"\b(sabihin mo|say mo) (na )?oo\b",
                     r"\boo o hindi\b", r"\bsige na\b", r"\bdali na\b"),
        "police_check": (r"\b(pulis|bot|fake|poser) ka( ba)?\b", r"\btotoo ka( ba)?\b"),
        "alone": (r"\bmag ?isa\b", r"\bnasa bahay ba (si |ang )?(mama|papa|magulang)\b",
                  r"\bsino (ang )?kasama mo\b", r"\bwala (bang|ba) tao\b"),
        "isolation": (r"\bako lang (ang )?(nakakaintindi|nakakaunawa)\b",
                      r"\bpagkatiwalaan mo ako\b",
                      r"\bhindi ka (nila )?naiintindihan\b"),
        "contact_age": (r"\bedad lang yan\b", r"\bnumber lang (ang )?edad\b",
                        r"\bmas matanda ako\b", r"\bok lang ba\b.{0,20}\bmatanda\b"),
        "platform_switch": (
            r"\b(sa|dun sa|lipat sa) (messenger|telegram|fb|viber|snap|ig|discord)\b",
            r"\bibang app\b",
        ),
        "looks": (r"\b(ano|anong) itsura mo\b", r"\bmukha mo\b"),
        "name": (r"\b(ano|anong) pangalan mo\b", r"\bsino ka\b", r"\bname mo\b"),
        "pets": (r"\b(alaga|aso|pusa|pets?)\b",),
        "family": (r"\b(kapatid|kuya|ate|pamilya|magulang)\b", r"\bsino kasama mo sa bahay\b"),
        "intro": (r"\b(si|ako si) (teacher|ma.?am|sir|mrs|mr)\b",),
        "homework": (r"\b(tapos|nagawa|ginawa) mo (na )?(ba )?(ang |yung )?"
                     r"(assignment|homework)\b",),
        "plans": (r"\b(maglalaro|laro) ka (ba )?(mamaya|bukas|later)\b",),
        "school_name": (r"\b(anong|saang|ano) school\b", r"\bsaan ka nag ?aaral\b"),
        "school_year": (r"\b(anong|ano|ilang) (grade|baitang|year)\b", r"\bgrade ka na\b"),
        "games": (r"\b(laro|naglalaro|games?|ml|mobile legends)\b",),
        "music": (r"\b(kanta|music|songs?|pinapakinggan)\b",),
        "news": (r"\bnanalo (kami|kmi|team namin)\b",),
        "feeling": (r"\b(ang|sobrang) (hirap|boring|dali|saya)\b",),
        "ack": (r"^(cool|nice|lol|haha+|same|ok|okay|ah|oh|talaga|weh|sige)\W*$",),
    },
}  # fmt: skip

#: detection's indicator categories -> the intent they raise a line to (when stronger)
_CATEGORY_INTENT: dict[Category, Intent] = {
    Category.SEXUAL_CONTENT: _I.SEXUAL_CONTENT,
    Category.MEDIA_REQUEST: _I.PHOTO_REQUEST,
    Category.MEETING: _I.MEETING_REQUEST,
    Category.PLATFORM_SWITCH: _I.CONTACT_REQUEST,
    Category.GIFT_OR_MONEY: _I.MONEY_OR_GIFT,
    Category.SECRECY: _I.SECRECY,
}
#: detection's indicator categories -> the topic they name
_CATEGORY_TOPIC: dict[Category, str] = {
    Category.RISK_CHECK: "alone",
    Category.ISOLATION: "isolation",
    Category.POLICE_CHECK: "police_check",
    Category.PLATFORM_SWITCH: "platform_switch",
}
_RANK = {intent: i for i, intent in enumerate(PRIORITY)}

#: a ``plans`` line with one of these words asks the persona to go or be somewhere: it is a
#: meeting request and refused as one, never answered with a reason to negotiate ("prob not, got
#: homework" invites "after homework then?"; review P1). English words apply in every language.
_PLANS_MEETING: dict[str, str] = {
    "en": r"\b(come|coming|came|chill|chilling|hang|hanging|park|mall|meet|out|outside|free|"
          r"tonight|after school|my house|my place|walk|town|shops?|cinema|movies)\b"
          r"|\b(go|going)\b(?! (on|online)\b)",
    "nl": r"\b(mee|kom|komen|chillen|park|buiten|vrij|tijd|vanavond|na school|mijn huis|bij mij|"
          r"weg|uit|stad)\b",
    "de": r"\b(raus|mit|kommst|kommen|gehst|treffen|park|frei|zeit|heute abend|nach der schule|"
          r"zu mir|bei mir|weg|chillen|stadt)\b",
    "tl": r"\b(labas|lalabas|gala|sama|sasama|punta|pupunta|free|mamayang gabi|ngayong gabi|"
          r"pagkatapos ng (klase|school)|bahay|park|mall)\b",
}  # fmt: skip


@cache
def _plans_meeting(lang: str) -> re.Pattern[str]:
    parts = [_PLANS_MEETING["en"]]
    if lang != "en" and lang in _PLANS_MEETING:
        parts.append(_PLANS_MEETING[lang])
    return re.compile("|".join(f"(?:{p})" for p in parts))


@dataclass(frozen=True, slots=True)
class Understanding:
    """One contact line as the reply policy reads it.

    intent: what the line asks or does. topic: a finer subject (one of :data:`TOPICS`) or
    ``None``. categories: the detection indicator categories read in the line (lexicon hits,
    plus the line detector's labels when a ``LineReading`` was given).
    """

    intent: Intent
    topic: str | None = None
    categories: frozenset[Category] = frozenset()


@cache
def _compiled(lang: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    langs = [lang, "en"] if lang in _RULES and lang != "en" else ["en"]
    out = []
    for topic in TOPICS:
        patterns = [p for code in langs for p in _RULES[code].get(topic, ())]
        out.append((topic, re.compile("|".join(f"(?:{p})" for p in patterns))))
    return tuple(out)


def _detected_categories(
    text: str, lang: str, reading: object | None
) -> tuple[frozenset[Category], frozenset[Category]]:
    """Indicator categories detection reads in ``text`` (see the module docstring): (lexicon
    hits, the line detector's labels)."""
    from tutela.detect.features import lexicon_for
    from tutela.detect.normalize import normalize

    hits = getattr(reading, "hits", None)
    if hits is None:  # no reading of this line: the same lexicon step detection runs
        skeleton = normalize(text)
        hits = lexicon_for(lang).hits(skeleton, line=0, author="", normalised=True)
    lexical = frozenset(h.category for h in hits)
    score = getattr(reading, "score", None)
    labels = frozenset(score.categories) if score is not None else frozenset()
    return lexical, labels


def _stronger(a: Intent, b: Intent) -> Intent:
    return a if _RANK[a] <= _RANK[b] else b


def understand(text: str, lang: str, *, reading: object | None = None) -> Understanding:
    """The :class:`Understanding` of one contact line ``text`` in ``lang`` (ISO 639-1).

    ``reading``: the live engine's :class:`tutela.detect.understand.LineReading` of this very line
    (its lexicon hits and detector score are used); without it the line is read with the
    conversation language's indicator lexicon. Never raises on odd text.
    """
    intent = recognize(text, lang)
    try:
        lexical, labels = _detected_categories(text, lang, reading)
    except Exception:  # detection data missing or broken: the persona's own rules still answer
        lexical, labels = frozenset(), frozenset()
    for cat in lexical:
        if cat in _CATEGORY_INTENT and intent is not Intent.THREAT:
            intent = _stronger(intent, _CATEGORY_INTENT[cat])
    views = normalised_views(text)
    topic = _rule_topic(lang, intent, views)
    if intent is Intent.UNKNOWN and topic is None:
        # the detector's labels only for a line the persona's own rules do not read at all
        for cat in labels:
            if cat in _CATEGORY_INTENT:
                intent = _stronger(intent, _CATEGORY_INTENT[cat])
        topic = _rule_topic(lang, intent, views)
    if topic == "plans" and any(_plans_meeting(lang).search(v) for v in views):
        intent = _I.MEETING_REQUEST
        topic = _rule_topic(lang, intent, views)
    cats = lexical | labels
    if topic is None and intent not in _NO_CATEGORY_TOPIC:
        for cat in sorted(cats, key=lambda c: TOPICS.index(_CATEGORY_TOPIC.get(c, "ack"))):
            named = _CATEGORY_TOPIC.get(cat)
            if named is not None and intent in REFINES[named]:
                topic = named
                break
    return Understanding(intent, topic, cats)


def _rule_topic(lang: str, intent: Intent, views: list[str]) -> str | None:
    for name, rx in _compiled(lang):
        if intent in REFINES[name] and any(rx.search(v) for v in views):
            return name
    return None
