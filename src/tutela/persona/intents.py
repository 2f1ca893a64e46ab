"""Intent recognition: label one contact message for the dialogue policy (understanding only).

``recognize(text, lang) -> Intent`` runs regular-expression rules over normalised text. Rules exist
for ``en``, ``nl``, ``de`` and ``tl`` (Taglish); the rules of ``lang`` and the English rules are
always both applied, because contacts mix English into every one of these chat languages. For any
other ``lang`` only the English rules apply.

Normalisation: when ``tutela.detect.normalize.normalize`` is importable, the rules run on its output
*and* on the local fold (NFKC, casefold, no diacritics, homoglyphs folded, apostrophes dropped,
letter runs squashed; see :mod:`tutela.persona._text`); a match on either view counts.

Priority (:data:`PRIORITY`, strongest first): when several intents match, the one earliest in this
order wins, so safety-relevant intents always beat small talk::

    threat > sexual_content > repeat_request > romantic > webcam_request > photo_request
    > meeting_request > contact_request > money_or_gift > secrecy > compliment > asl
    > age_question > location_question > school > hobbies > what_doing > how_are_you
    > personal_question > goodbye > greeting > unknown
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from functools import cache

from tutela.persona._text import fold, squash

__all__ = ["PRIORITY", "RULE_LANGUAGES", "Intent", "normalised_views", "recognize"]

try:  # another module of Tutela owns the shared normaliser; use it when it is there
    from tutela.detect.normalize import normalize as _detect_normalize
except ImportError:  # pragma: no cover - depends on the rest of the tree
    _detect_normalize: Callable[[str], str] | None = None  # type: ignore[no-redef]


class Intent(StrEnum):
    """What a contact's message asks or does (as far as the persona's reply is concerned)."""

    GREETING = "greeting"
    HOW_ARE_YOU = "how_are_you"
    ASL = "asl"  # age/sex/location
    AGE_QUESTION = "age_question"
    LOCATION_QUESTION = "location_question"
    WHAT_DOING = "what_doing"
    SCHOOL = "school"
    HOBBIES = "hobbies"
    PERSONAL_QUESTION = "personal_question"  # family, pets, "are you alone"
    COMPLIMENT = "compliment"
    WEBCAM_REQUEST = "webcam_request"
    PHOTO_REQUEST = "photo_request"
    CONTACT_REQUEST = "contact_request"  # number, snap, whatsapp, e-mail
    MEETING_REQUEST = "meeting_request"
    MONEY_OR_GIFT = "money_or_gift"
    SECRECY = "secrecy"  # "don't tell your mum"
    ROMANTIC = "romantic"
    SEXUAL_CONTENT = "sexual_content"
    REPEAT_REQUEST = "repeat_request"  # "say 'i love you'"
    THREAT = "threat"
    GOODBYE = "goodbye"
    UNKNOWN = "unknown"


PRIORITY: tuple[Intent, ...] = (
    Intent.THREAT,
    Intent.SEXUAL_CONTENT,
    Intent.REPEAT_REQUEST,
    Intent.ROMANTIC,
    Intent.WEBCAM_REQUEST,
    Intent.PHOTO_REQUEST,
    Intent.MEETING_REQUEST,
    Intent.CONTACT_REQUEST,
    Intent.MONEY_OR_GIFT,
    Intent.SECRECY,
    Intent.COMPLIMENT,
    Intent.ASL,
    Intent.AGE_QUESTION,
    Intent.LOCATION_QUESTION,
    Intent.SCHOOL,
    Intent.HOBBIES,
    Intent.WHAT_DOING,
    Intent.HOW_ARE_YOU,
    Intent.PERSONAL_QUESTION,
    Intent.GOODBYE,
    Intent.GREETING,
    Intent.UNKNOWN,
)

_I = Intent
# Patterns are matched with ``re.search`` on lower-case folded text without apostrophes.
_RULES: dict[str, dict[Intent, tuple[str, ...]]] = {
    "en": {
        _I.THREAT: (
            r"\b(i ?will|ill|i am going to|im going to|gonna) (find|hurt|expose|share|post|leak|"
            r"kill|come for|tell (everyone|ur|your))",
            r"\bor else\b", r"\bi know where (you|u) live", r"\b(i have|ive got) (ur|your) pics?\b",
        ),
        _I.SEXUAL_CONTENT: (
            r"\b(sex|sexy|sexual|naked|nude|nudes|horny|dick|cock|penis|vagina|pussy|boobs|tits|"
            r"breasts|bra|underwear|panties|undies|virgin|porn|kinky|masturbat\w*|orgasm|"
            r"touch (yourself|urself|you|u)|take (it|ur clothes|your clothes) off|undress)\b",
            # clothes and body questions (review P2/P4): refused, never small talk
            r"\b(wear|wears|wearing|wore|weigh|weight|height|shower|showers|bath|pjs|pyjamas|"
            r"pajamas|skirt|skirts)\b", r"\bhow tall\b", r"\b(ur|your) body\b",
            r"\b(are|r) (you|u) in bed\b",
        ),
        _I.REPEAT_REQUEST: (
            r"\b(say|type|write|repeat|tell me) .{0,20}(after me|love|luv|kiss|babe|daddy|sexy)",
            r"\brepeat after me\b", r"\bsay [\"“‘]", r"\b(say|type) (it|that|this)\b",
        ),
        _I.ROMANTIC: (
            r"\b(i )?(love|luv) (you|u|ya)\b", r"\b(ily|ilysm|kiss|kisses|babe|baby|bby|bae|"
            r"sweetheart|darling|honey|hun|boyfriend|girlfriend|bf|gf|crush|date|dating|marry|"
            r"romantic|xoxo)\b", r"\bmiss (you|u)\b", r"\bbe my\b",
            # review P2: liking, pet names, "older guys", kissing
            r"\bi (really |rly )?(like|luv) (you|u|ya)\b", r"\b(do|d) (you|u) like me\b",
            r"\b(ur|your|youre|you are) my\b", r"\b(princess|kissed|kissing)\b",
            r"\b(older|old) (guys|men|man|boys|boyfriends)\b",
            r"\bam i (ur|your) (fav|favourite|favorite)\b",
            r"\b(dream\w*|think\w*) (about|of) (you|u)\b",
            r"\btruth or dare\b", r"\bspin the bottle\b",
        ),
        _I.WEBCAM_REQUEST: (
            r"\b(cam|webcam|camera|video ?call|vc|facetime|skype|go live|livestream|on live)\b",
        ),
        _I.PHOTO_REQUEST: (
            r"\b(pic|pics|pix|picture|pictures|photo|photos|selfie|selfies|snapshot|image)\b",
            r"\bsend me (a|one|some|something)\b", r"\bshow me\b",
            # review P4: every medium is media
            r"\b(video|videos|vid|vids|clip|clips|voice ?notes?|voice ?messages?|voice ?memos?|"
            r"audio|recording|vm)\b",
            r"\bwhat do (you|u) look like\b",
        ),
        _I.MEETING_REQUEST: (
            r"\b(meet|meetup|hang ?out|come over|come to (my|mine)|pick (you|u) up|"
            r"(your|ur) (house|place)|my place|visit (you|u)|in real life|irl|in person)\b",
            r"\bsee (you|u) (at|tomorrow|there|irl|after school)\b",
            # review P1/P2/P4: plans to be somewhere, places, lures to come and see
            r"\b(park|mall|my house|my home|my flat|my room|my car)\b", r"\bwait for (you|u)\b",
            r"\b(are|r) (you|u) (free|coming|going out|out)\b", r"\bgo(ing)? out\b",
            r"\b(wanna|want to|lets|let us|we could|we can) (chill|hang|go)\b",
            r"\bchill (with|tomorrow|tmrw|tonight|later|after)\b",
            r"\b(come|coming) (with|to|over)\b", r"\b(you|u) can see\b",
            r"\b(wanna|want to|come|u wanna|you wanna) see my\b",
        ),
        _I.CONTACT_REQUEST: (
            r"\b(number|digits|snap|snapchat|whats ?app|telegram|kik|discord|insta|instagram|ig|"
            r"tiktok|email|e ?mail|add me|text me|call me|dm me|phone|mobile|cell|line id|"
            r"messenger|viber|facebook|fb)\b",
        ),
        _I.MONEY_OR_GIFT: (
            r"\b(money|cash|pay|paypal|gcash|gift|gifts|present|presents|buy (you|u)|credit|"
            r"voucher|robux|v ?bucks|gift ?card|steam card|euros?|pounds?|quid|dollars?|pesos?|"
            r"crypto|bitcoin|top ?up)\b", r"[£$€₱]",
            r"\b(prize|prizes|reward)\b", r"\bsurprise (for|4) (you|u)\b", r"\bearn\b",
            r"\b(give|offer|got) (you|u) a job\b", r"\b(want|buy|get|give) ((you|u) )?a new\b",
        ),
        _I.SECRECY: (
            r"\b(secret|dont tell|do not tell|wont tell|between us|delete (this|the chat|it))\b",
            r"\b(your|ur) (mum|mom|parents|dad) (dont|doesnt|wont) (need to )?know\b",
            r"\b(dont|do not|never) (say|mention) .{0,20}\b(to|about)\b",
        ),
        _I.COMPLIMENT: (
            r"\b(cute|cutie|pretty|beautiful|gorgeous|hot|stunning|handsome|lovely)\b",
            r"\b(mature|grown up) for (your|ur) age\b", r"\b(so|really) (smart|sweet|nice)\b",
        ),
        _I.ASL: (r"\ba\W{0,2}s\W{0,2}l\b", r"\bage\W+sex\b"),
        _I.AGE_QUESTION: (
            r"\bhow old\b", r"\bhw old\b", r"\b(your|ur) age\b", r"\bwhat age\b",
            r"\b(are|r) (you|u) \d\d\b", r"\bhow old r u\b",
        ),
        _I.LOCATION_QUESTION: (
            r"\bwhere (are|r) (you|u) from\b", r"\bwhere (do|d) (you|u) live\b",
            r"\bwhere (you|u) (from|live)\b", r"\bwhich (city|town|country|area)\b",
            r"\bwhere abouts\b", r"\bwhereabouts\b", r"\bwru\b", r"\bwhere (are|r) (you|u)\b",
        ),
        _I.SCHOOL: (
            r"\b(school|class|grade|teacher|homework|exam|exams|skool|schl)\b",
            r"\bwhat year\b", r"\byear \d\b",
        ),
        _I.HOBBIES: (
            r"\b(hobby|hobbies|games?|gaming|sports?|music|songs?|favourite|favorite|fav)\b",
            r"\bwhat (do|d) (you|u) (like|do for fun|play|listen)\b", r"\bfor fun\b",
            r"\b(are|r) (you|u) into\b",
        ),
        _I.WHAT_DOING: (
            r"\bwyd\b", r"\bwud\b", r"\bwhat (are|r) (you|u|ya) (doing|up to)\b",
            r"\bwhatcha (doing|up to)\b", r"\bwhat (you|u) (doing|up to)\b",
        ),
        _I.HOW_ARE_YOU: (
            r"\bhow (are|r) (you|u|ya)\b", r"\bhow ru\b", r"\bhru\b", r"\bhows it going\b",
            r"\bhow (you|u) doing\b", r"\bwhats up\b", r"\bwassup\b", r"\bsup\b",
            r"\bhows (you|u)\b", r"\bhows (things|everything|life|ur day|your day)\b",
        ),
        _I.PERSONAL_QUESTION: (
            r"\b(do|d) (you|u) have\b", r"\b(your|ur) (mum|mom|dad|parents|family|brother|sister|"
            r"siblings|pet|dog|cat)\b", r"\b(home )?alone\b", r"\bwho do (you|u) live with\b",
            r"\b(your|ur) name\b", r"\bwhats (your|ur) name\b",
        ),
        _I.GOODBYE: (
            r"\b(bye|byee|cya|see ya|gtg|g2g|got to go|gotta go|good ?night|gn|ttyl|laters)\b",
            # "later" alone or as "talk later", never "are u playing later" (issue 12)
            r"^\W*(ok |okay |k )?later\W*$", r"\b(talk|speak|chat|catch (you|u|ya)) later\b",
            r"\bhave a (good|nice|great|lovely) (evening|night|day|weekend|one)\b",
        ),
        _I.GREETING: (
            r"\b(hi|hii|hey|heyy|hello|helo|hallo|yo|hiya|heya|howdy|good (morning|evening|"
            r"afternoon)|morning)\b",
        ),
    },
    "nl": {
        _I.THREAT: (
            r"\bik (ga|zal) (je|jou) (vinden|pakken|zoeken)\b", r"\banders (ga|zet|stuur) ik\b",
            r"\bik weet waar je woont\b", r"\bik zet (je|jou|het) .{0,20}online\b",
            r"\bik vertel (het )?(aan )?je ouders\b",
        ),
        _I.SEXUAL_CONTENT: (
            r"\b(seks|sex|sexy|naakt|bloot|geil|piemel|penis|borsten|tieten|bh|ondergoed|slipje|"
            r"maagd|porno|aanraken|uitkleden)\b",
            r"\bwat heb je aan\b", r"\b(draag|draagt|aanhebt|aan hebt|weeg|weegt|douche\w*)\b",
            r"\bhoe lang ben je\b",
        ),
        _I.REPEAT_REQUEST: (
            r"\b(zeg|typ|schrijf|herhaal) (eens|maar|na|me na|mij na)\b",
            r"\bzeg .{0,20}(hou van|lief|schat|kus)", r"\bzeg [\"“‘]",
        ),
        _I.ROMANTIC: (
            r"\b(ik )?hou(d)? van (je|jou)\b", r"\b(kus|kusje|kusjes|zoen|zoentje|schat|schatje|"
            r"lieverd|liefje|verliefd|vriendje|vriendinnetje|verkering|date|daten)\b",
            r"\bmis je\b",
            r"\boudere (jongens|mannen|man)\b", r"\bik vind je (echt |heel )?leuk\b",
            r"\bvind je mij leuk\b", r"\bprinses\b",
        ),
        _I.WEBCAM_REQUEST: (
            r"\b(cam|webcam|camera|videobellen|beeldbellen|videocall|facetime|skype)\b",
        ),
        _I.PHOTO_REQUEST: (
            r"\b(foto|fotos|fotootje|plaatje|plaatjes|selfie|pic|pics)\b",
            r"\blaat (je|jezelf|me|eens) .{0,10}zien\b", r"\bhoe zie je eruit\b",
            r"\b(video|filmpje|spraakbericht|spraakmemo|voicememo|voicebericht)\b",
        ),
        _I.MEETING_REQUEST: (
            r"\b(afspreken|afspraak|ontmoeten|langskomen|ophalen|irl)\b", r"\bkom langs\b",
            r"\bkom naar\b", r"\bzien we elkaar\b", r"\bin het echt\b", r"\bspreken we af\b",
            r"\b(park|winkelcentrum|mijn huis|bij mij)\b", r"\bwacht op je\b", r"\bchillen\b",
            r"\bnaar buiten\b", r"\b(ga|kom) je\b.{0,25}\bmee\b", r"\bheb je\b.{0,20}\btijd\b",
            r"\bkom je (naar|ook|langs|mee)\b",
        ),
        _I.CONTACT_REQUEST: (
            r"\b(nummer|nummertje|06|snap|snapchat|whatsapp|app me|appen|insta|instagram|telegram|"
            r"discord|mail|email|bel me|bellen|telefoon)\b",
        ),
        _I.MONEY_OR_GIFT: (
            r"\b(geld|betalen|betaal|cadeau|cadeautje|tikkie|euro|euros|kopen|koop|beltegoed|"
            r"giftcard|cadeaukaart|robux|vbucks|prijs|prijsje|verrassing)\b", r"€",
        ),
        _I.SECRECY: (
            r"\b(geheim|geheimpje|niet vertellen|niks zeggen|niemand zeggen|tussen ons)\b",
            r"\bverwijder\b", r"\bniet (aan|tegen) (je|jouw) \w+ (vertellen|zeggen)\b",
            r"\bzeg (het )?niks tegen\b", r"\bvertel (het )?niet\b",
            r"\bniet tegen je \w+ (zeggen|vertellen)\b",
        ),
        _I.COMPLIMENT: (
            r"\b(mooi|knap|schattig|lief|leuk om te zien)\b", r"\bvolwassen voor je leeftijd\b",
        ),
        _I.ASL: (r"\basl\b", r"\bl\W{0,2}g\W{0,2}w\b", r"\bleeftijd\W+geslacht\b"),
        _I.AGE_QUESTION: (r"\bhoe oud\b", r"\bleeftijd\b", r"\bben je \d\d\b"),
        _I.LOCATION_QUESTION: (
            r"\bwaar woon je\b", r"\bwaar kom je vandaan\b", r"\bwaar ben je vandaan\b",
            r"\bwoonplaats\b", r"\bwelke stad\b", r"\buit welke\b", r"\bwaar zit je\b",
        ),
        _I.SCHOOL: (
            r"\b(school|klas|groep \d|brugklas|middelbaar|huiswerk|leraar|juf|meester|toets|"
            r"welk jaar)\b",
        ),
        _I.HOBBIES: (
            r"\b(hobby|hobbys|hobbies|sport|sporten|games|gamen|muziek|favoriete)\b",
            r"\bwat doe je graag\b", r"\bwat vind je leuk\b", r"\bspeel je\b",
        ),
        _I.WHAT_DOING: (r"\bwat (ben|zit) je (aan het|aan t|te) ", r"\bwat doe je\b", r"\bwdj\b"),
        _I.HOW_ARE_YOU: (
            r"\bhoe gaat (het|ie)\b", r"\balles goed\b", r"\bhoe is het\b", r"\bhgh\b",
            r"\balles oke\b", r"\bhoe ist\b",
        ),
        _I.PERSONAL_QUESTION: (
            r"\bheb je\b", r"\bben je alleen\b", r"\balleen thuis\b",
            r"\bje (ouders|moeder|mama|vader|papa|broer|zus|huisdier)\b", r"\bmet wie woon je\b",
            r"\bhoe heet je\b",
        ),
        _I.GOODBYE: (
            r"\b(doei|doeg|tot later|tot morgen|slaap lekker|welterusten|ciao|bye)\b",
            r"\bik moet (gaan|weg)\b", r"\bfijne (avond|dag|middag|weekend)\b",
        ),
        _I.GREETING: (r"\b(hoi|hallo|hey|hi|hee|heey|hai|hoii|goedemorgen|goedemiddag|goedenavond|"
                      r"yo|dag)\b",),
    },
    "de": {
        _I.THREAT: (
            r"\bich werde dich\b", r"\bsonst (werde|stelle|schicke|sag) ich\b",
            r"\bich weiss wo du wohnst\b", r"\bich (sag|erzahl) es deinen eltern\b",
            r"\bich stelle .{0,20}online\b",
        ),
        _I.SEXUAL_CONTENT: (
            r"\b(sex|sexy|nackt|nackig|geil|penis|bruste|titten|bh|unterwasche|jungfrau|porno|"
            r"anfassen|ausziehen)\b",
            r"\bwas hast du an\b", r"\b(tragst|anhast|an hast|wiegst|duschst)\b",
            r"\bwie gross bist du\b",
        ),
        _I.REPEAT_REQUEST: (
            r"\b(sag|schreib|wiederhole) (mal|nach|mir nach)\b",
            r"\bsag .{0,20}(liebe|lieb|schatz)",
            r"\bsag [\"“‘„]",
        ),
        _I.ROMANTIC: (
            r"\b(ich )?liebe dich\b", r"\blieb dich\b", r"\bhab dich lieb\b",
            r"\b(kuss|kusse|kussen|kusschen|schatz|schatzi|liebling|verliebt|freundin|date)\b",
            r"\bvermisse dich\b", r"\bfesten freund\b", r"\b(einen|nen|n) freund\b",
            r"\b(altere|alteren|aeltere) (manner|maenner|jungs|typen|mann)\b",
            r"\bich mag dich\b", r"\bmagst du mich\b", r"\bprinzessin\b",
        ),
        _I.WEBCAM_REQUEST: (r"\b(cam|webcam|kamera|videoanruf|videochat|facetime|skype)\b",),
        _I.PHOTO_REQUEST: (
            r"\b(foto|fotos|bild|bilder|selfie|pic|pics)\b", r"\bzeig (dich|mir)\b",
            r"\bwie siehst du aus\b",
            r"\b(video|videos|sprachnachricht|sprachnachrichten|sprachmemo|clip)\b",
        ),
        _I.MEETING_REQUEST: (
            r"\b(treffen|treff|triff|vorbeikommen|abholen|irl)\b", r"\bsehen uns\b",
            r"\bkomm vorbei\b", r"\bin echt\b", r"\bim echten leben\b",
            r"\b(park|einkaufszentrum|zu mir|bei mir|raus)\b", r"\bwarte auf dich\b",
            r"\bhast du\b.{0,20}\bzeit\b", r"\bkommst du (in|zu|mit|vorbei|raus|heute|morgen)\b",
            r"\bnach der schule\b",
            r"\bwollen wir\b", r"\bchillen\b",
        ),
        _I.CONTACT_REQUEST: (
            r"\b(nummer|handynummer|snap|snapchat|whatsapp|insta|instagram|telegram|discord|mail|"
            r"email|anrufen)\b", r"\bruf mich an\b", r"\bschreib mir auf\b",
        ),
        _I.MONEY_OR_GIFT: (
            r"\b(geld|bezahlen|zahlen|geschenk|geschenke|euro|kaufen|kauf|gutschein|guthaben|"
            r"robux|vbucks|paypal|uberweisen|preis|gewinn|uberraschung)\b", r"€",
        ),
        _I.SECRECY: (
            r"\b(geheim|geheimnis|nicht verraten|niemandem|unter uns|losch)\w*",
            r"\b(sag|sags|erzahl|erzahls)\b.{0,25}\b(nicht|nichts|nix)\b",
        ),
        _I.COMPLIMENT: (
            r"\bdu bist (so |echt |voll )?(hubsch|schon|suss|susse|sexy|reif)\b",
            r"\breif fur dein alter\b", r"\b(hubsch|hubsche)\b",
        ),
        _I.ASL: (r"\basl\b", r"\balter\W+geschlecht\b"),
        _I.AGE_QUESTION: (r"\bwie alt\b", r"\bdein alter\b", r"\bbist du \d\d\b"),
        _I.LOCATION_QUESTION: (
            r"\bwo wohnst du\b", r"\bwoher kommst du\b", r"\bwo kommst du her\b",
            r"\bwelche stadt\b", r"\bwohnort\b",
        ),
        _I.SCHOOL: (
            r"\b(schule|klasse|lehrer|lehrerin|hausaufgaben|prufung|gymnasium|realschule)\b",
        ),
        _I.HOBBIES: (
            r"\b(hobby|hobbys|sport|games|zocken|musik|lieblings\w*)\b",
            r"\bwas machst du gern\b", r"\bwas magst du\b", r"\bspielst du\b",
        ),
        _I.WHAT_DOING: (r"\bwas machst du\b", r"\bwmd\b", r"\bwas tust du\b"),
        _I.HOW_ARE_YOU: (r"\bwie gehts\b", r"\bwie geht es dir\b", r"\balles gut\b",
                         r"\bwie gehts dir\b"),
        _I.PERSONAL_QUESTION: (
            r"\bhast du\b", r"\bbist du allein\b", r"\ballein zu hause\b",
            r"\bdeine (eltern|mutter|mama|schwester)\b", r"\bdein (vater|papa|bruder)\b",
            r"\b(haustier|geschwister)\b", r"\bwie heisst du\b",
        ),
        _I.GOODBYE: (r"\b(tschuss|tschau|ciao|bye)\b", r"\bbis (dann|spater|morgen|bald)\b",
                     r"\bgute nacht\b", r"\bmuss los\b",
                     r"\b(schonen|schones) (abend|tag|wochenende)\b"),
        _I.GREETING: (r"\b(hallo|hi|hey|moin|servus|na)\b", r"\bguten (morgen|tag|abend)\b"),
    },
    "tl": {
        _I.THREAT: (
            r"\b(papatayin|sasaktan|ipapakalat|ikakalat|isusumbong kita)\b",
            r"\balam ko (kung )?saan ka nakatira\b", r"\bkung hindi mo\b", r"\bpag hindi mo\b",
        ),
        _I.SEXUAL_CONTENT: (
            r"\b(hubad|kantot|libog|malibog|jakol|titi|puke|suso|dede|bold|sex|sexy|katawan|"
            r"panty|bra|virgin|birhen|hipo|hawakan)\b",
            r"\b(suot|suot mo|timbang|tangkad|naligo|maligo)\b",
        ),
        _I.REPEAT_REQUEST: (r"\b(sabihin mo|say mo|itype mo|i type mo|ulitin mo)\b",),
        _I.ROMANTIC: (
            r"\b(mahal kita|iloveyou|love kita|labyu|lab yu|halik|jowa|crush|landi|bebe|"
            r"miss kita|ligaw|liligawan|syota)\b",
            r"\bmas matanda\b.{0,10}\b(gusto|type)\b", r"\b(gusto|type) mo\b.{0,15}\bmatanda\b",
            r"\bgusto kita\b", r"\bprinsesa\b",
        ),
        _I.WEBCAM_REQUEST: (
            r"\b(cam|webcam|video call|videocall|vc|facetime|skype|open cam|on cam|mag live)\b",
        ),
        _I.PHOTO_REQUEST: (
            r"\b(pic|pics|picture|litrato|larawan|selfie|pa ?send|send ka|pakita|ipakita|"
            r"itsura)\b",
            r"\b(video|vid|voice message|voice note|voice msg)\b",
        ),
        _I.MEETING_REQUEST: (
            r"\b(kita tayo|kitakits|magkita|magkikita|kitain|puntahan|pupuntahan|sunduin|"
            r"susunduin|gala tayo|labas tayo|date tayo|punta ka)\b",
            r"\b(park|mall|bahay ko|hintayin kita|free ka|labas ka|lalabas ka|sama ka)\b",
        ),
        _I.CONTACT_REQUEST: (
            r"\b(number|num|numero|cp|fb|facebook|messenger|viber|telegram|snap|insta|ig|email|"
            r"tawagan|text mo ako)\b",
        ),
        _I.MONEY_OR_GIFT: (
            r"\b(pera|gcash|load|paload|bayad|bibigyan kita|regalo|bilhan|bibilhan|padala|pesos?|"
            r"piso|maya|allowance|premyo|surprise)\b", r"₱",
        ),
        _I.SECRECY: (r"\b(sikreto|secret|wag mo sabihin|huwag mong sabihin|atin atin|atin lang|"
                     r"burahin|wag mo ipaalam|huwag mong ipaalam|wag mong sabihin)\b",),
        _I.COMPLIMENT: (
            r"\b(ganda mo|ang ganda|maganda ka|cute mo|ang cute|pogi|gwapo|sexy mo|mature ka)\b",
        ),
        _I.ASL: (r"\basl\b",),
        _I.AGE_QUESTION: (r"\bilang taon\b", r"\bilan taon\b", r"\bedad\b"),
        _I.LOCATION_QUESTION: (
            r"\btaga ?saan\b", r"\btaga ?san\b", r"\bsaan ka nakatira\b", r"\bsan ka nakatira\b",
            r"\b(saan|san) ka\b",
        ),
        _I.SCHOOL: (r"\b(school|paaralan|skul|grade|klase|teacher|titser|assignment|exam)\b",),
        _I.HOBBIES: (r"\b(hilig|libangan|mahilig|laro|naglalaro|kanta|fav)\b",
                     r"\bano gusto mo\b"),
        _I.WHAT_DOING: (r"\b(ano|anong|ano ang) (ginagawa|gawa) mo\b", r"\bginagawa mo\b"),
        _I.HOW_ARE_YOU: (r"\b(kamusta|kumusta|musta)\b", r"\bok ka lang\b"),
        _I.PERSONAL_QUESTION: (
            r"\bmay (kapatid|aso|pusa)\b", r"\bmag ?isa ka\b", r"\b(nanay|tatay|mama|papa) mo\b",
            r"\bkasama mo\b", r"\bano pangalan mo\b",
        ),
        _I.GOODBYE: (r"\b(bye|babay|babye|tulog na|ingat)\b", r"\balis na ako\b"),
        _I.GREETING: (r"\b(hi|hello|hey|uy|oy|magandang (umaga|gabi|hapon))\b",),
    },
}  # fmt: skip

RULE_LANGUAGES: tuple[str, ...] = tuple(sorted(_RULES))
"""Languages with their own rules; every other language uses the English rules only."""

_APOSTROPHES = re.compile(r"['’‘`´]")
_SPACES = re.compile(r"\s+")


@cache
def _compiled(lang: str) -> tuple[tuple[Intent, re.Pattern[str]], ...]:
    langs = [lang, "en"] if lang in _RULES and lang != "en" else ["en"]
    out: list[tuple[Intent, re.Pattern[str]]] = []
    for intent in PRIORITY:
        patterns = [p for code in langs for p in _RULES[code].get(intent, ())]
        if patterns:
            out.append((intent, re.compile("|".join(f"(?:{p})" for p in patterns))))
    return tuple(out)


def normalised_views(text: str) -> list[str]:
    """The normalised views of ``text`` the rules run on (module docstring): the local fold, its
    squashed form and, when available, detection's skeleton; lower case, no apostrophes."""
    return _views(text)


def _views(text: str) -> list[str]:
    local = _SPACES.sub(" ", _APOSTROPHES.sub("", fold(text))).strip()
    views = [local, squash(local, keep=1)]
    if _detect_normalize is not None:
        views.append(_SPACES.sub(" ", _APOSTROPHES.sub("", _detect_normalize(text).lower())))
    return views


def recognize(text: str, lang: str) -> Intent:
    """The intent of one contact message ``text`` written in ``lang`` (ISO 639-1).

    Returns the highest-priority intent (see :data:`PRIORITY`) whose rules match any normalised
    view of the text; :attr:`Intent.UNKNOWN` when none does. Never raises on odd text.
    """
    views = _views(text)
    for intent, rx in _compiled(lang):
        if any(rx.search(v) for v in views):
            return intent
    return Intent.UNKNOWN
