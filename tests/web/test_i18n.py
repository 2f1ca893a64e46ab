"""The dashboard in English, Dutch and German: language negotiation, the compiled catalogues,
translated pages, and the language switch (stored on the user, CSRF-protected, audited)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from web_support import PASSWORD, csrf_of

from tutela.store.queries.dashboard import audit_log
from tutela.web.i18n import (
    LANGUAGES,
    gettext_for,
    negotiate,
    ngettext_for,
    request_language,
    translations,
)
from tutela.web.routes.auth import GENERIC_FAILURE, local_path

HTML = {"accept": "text/html"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("nl-BE,nl;q=0.9,en;q=0.8", "nl"),
        ("NL-be", "nl"),
        ("de-DE", "de"),
        ("de-AT;q=0.7, en-GB;q=0.9", "en"),
        ("fr-FR, de;q=0.5, nl;q=0.4", "de"),
        ("en;q=0.2, nl;q=0.9", "nl"),
        ("fr, it", "en"),
        ("*", "en"),
        ("nl;q=abc, de;q=0.1", "de"),
        ("nl;q=0", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_is_negotiated(header, expected):
    assert negotiate(header) == expected


def test_the_users_setting_wins_over_the_browser():
    assert negotiate("nl-BE,nl;q=0.9", preferred="de") == "de"
    assert negotiate("de", preferred="en") == "en"
    assert negotiate("de", preferred="xx") == "de"  # not a dashboard language: ignored
    assert negotiate(None, preferred=None) == "en"


def _request(header: str | None, lang: str | None = None) -> SimpleNamespace:
    headers = {} if header is None else {"accept-language": header}
    return SimpleNamespace(headers=headers, state=SimpleNamespace(lang=lang))


def test_gettext_for_a_request():
    assert request_language(_request("de-CH")) == "de"
    assert request_language(_request("de-CH", lang="nl")) == "nl"
    assert gettext_for(_request("nl"))("Log in") == "Inloggen"
    assert gettext_for(_request("de"))("Log in") == "Anmelden"
    assert gettext_for(_request("fr"))("Log in") == "Log in"
    assert gettext_for(_request("nl"))("a string in no catalogue") == "a string in no catalogue"
    assert ngettext_for(_request("en"))("one case", "%(n)s cases", 2) == "%(n)s cases"


def test_catalogues_compile_once_and_english_is_the_identity():
    assert translations("nl") is translations("nl")
    assert translations("de").gettext("Password") == "Passwort"
    assert translations("en").gettext("Password") == "Password"
    assert translations("xx").gettext("Password") == "Password"
    assert translations("nl").gettext("") == ""  # the header is not a message
    assert set(LANGUAGES) == {"en", "nl", "de"}


@pytest.mark.parametrize(
    ("header", "lang", "words"),
    [
        ("nl-BE,nl;q=0.9,en;q=0.5", "nl", ("Inloggen", "Wachtwoord", "Een sessie eindigt")),
        ("de-DE,de;q=0.9", "de", ("Anmelden", "Passwort", "Eine Sitzung endet")),
        ("fr-FR", "en", ("Log in", "Password", "A session ends")),
    ],
)
def test_the_login_page_is_in_the_browsers_language(web, header, lang, words):
    page = web.client().get("/login", headers={"accept-language": header})
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        assert word in page.text


def test_a_refused_login_says_so_in_the_browsers_language(web):
    c = web.client()
    token = csrf_of(c)
    r = c.post(
        "/login",
        data={"name": "ana", "password": "wrong", "csrf_token": token},
        headers={"accept-language": "de"},
    )
    assert r.status_code == 401
    assert "Falscher Name, falsches Passwort oder falscher Code." in r.text
    assert GENERIC_FAILURE not in r.text


def test_logged_in_pages_follow_the_browser_until_the_user_chooses(web):
    c = web.login("sue")
    nl = c.get("/personas", headers={"accept-language": "nl"}).text
    assert '<html lang="nl">' in nl and "Werkvoorraad" in nl and "Leeftijd" in nl
    de = c.get("/shadow", headers={"accept-language": "de"}).text
    assert '<html lang="de">' in de and "Schattenrichtlinie" in de and "Prüfliste" in de
    assert "Review queue" not in de


def _switch(c, lang: str, next_: str = "/personas", token: str | None = None):
    token = csrf_of(c, "/personas") if token is None else token
    return c.post("/settings/lang", data={"lang": lang, "next": next_, "csrf_token": token})


def test_the_language_switch_stores_the_users_setting(web):
    c = web.login("ana")
    r = _switch(c, "nl", "/personas?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/personas?x=1"
    # the setting wins over the browser, in this session ...
    page = c.get("/personas", headers={"accept-language": "de"}).text
    assert '<html lang="nl">' in page and "Persona&#39;s" in page
    pressed = 'value="nl" lang="nl" title="Nederlands" aria-label="Nederlands" aria-pressed="true"'
    assert pressed in page
    # ... and in a new login of the same user (it is stored on the account, not the session)
    other = web.login("ana")
    assert '<html lang="nl">' in other.get("/personas").text
    # another user is not affected
    assert '<html lang="en">' in web.login("ben").get("/personas").text
    rows = [a for a in audit_log(web.services.store) if a.action == "user_lang_set"]
    assert rows and rows[0].actor == "ana" and rows[0].details["to"] == "nl"
    # "auto" goes back to the browser's language
    assert _switch(c, "auto").status_code == 303
    assert '<html lang="de">' in c.get("/personas", headers={"accept-language": "de"}).text


def test_the_language_switch_is_csrf_protected(web):
    c = web.login("ana")
    r = c.post("/settings/lang", data={"lang": "de", "next": "/personas"}, headers=HTML)
    assert r.status_code == 403
    r = _switch(c, "de", token="not-the-token")
    assert r.status_code == 403
    assert '<html lang="en">' in c.get("/personas").text  # nothing was stored
    assert not [a for a in audit_log(web.services.store) if a.action == "user_lang_set"]


def test_the_language_switch_refuses_anonymous_callers_and_other_values(web):
    anonymous = web.client()
    token = csrf_of(anonymous)  # an anonymous session's valid token
    r = anonymous.post("/settings/lang", data={"lang": "nl", "csrf_token": token}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    c = web.login("ana")
    r = c.post(
        "/settings/lang",
        data={"lang": "fr", "csrf_token": csrf_of(c, "/personas")},
        headers={**HTML, "accept-language": "nl"},
    )
    assert r.status_code == 400 and "onbekende taal" in r.text


def test_the_language_switch_never_redirects_off_site(web):
    c = web.login("ana")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", ""):
        r = _switch(c, "de", target)
        assert r.status_code == 303 and r.headers["location"] == "/queue", target


def test_local_path():
    assert local_path("/cases/3?tab=notes", "/queue") == "/cases/3?tab=notes"
    for bad in ("//x.example", "/\\x.example", "http://x.example", "x", None, "/a\r\nb"):
        assert local_path(bad, "/queue") == "/queue"
    assert local_path("/" + "a" * 2001, "/queue") == "/queue"


def test_error_reasons_are_translated(web):
    c = web.login("ana")
    r = c.post(
        f"/cases/{web.case_id}/watch",
        data={"csrf_token": "wrong"},
        headers={**HTML, "accept-language": "nl"},
    )
    assert r.status_code == 403
    assert "Fout 403" in r.text and "CSRF-token ontbreekt of is ongeldig" in r.text
    assert 'name="next" value=""' in r.text  # a switch from a POST's page goes to the start


def test_the_header_offers_every_language_to_logged_in_users_only(web):
    login = web.client().get("/login").text
    assert 'action="/settings/lang"' not in login
    page = web.login("ana").get("/personas").text
    for code, name in (("en", "English"), ("nl", "Nederlands"), ("de", "Deutsch")):
        assert f'name="lang" value="{code}" lang="{code}" title="{name}"' in page
    assert 'name="next" value="/personas"' in page
    assert PASSWORD not in page


@pytest.mark.parametrize("lang", ["nl", "de"])
def test_every_page_renders_in_dutch_and_german(web, lang):
    c = web.login("sue")
    english = {p: c.get(p).text for p in ("/queue", f"/cases/{web.case_id}")}
    for path in ("/queue", f"/cases/{web.case_id}", "/live", "/shadow", "/personas", "/stats"):
        r = c.get(path, headers={"accept-language": lang})
        assert r.status_code == 200, (path, r.text[:300])
        assert f'<html lang="{lang}">' in r.text
        if path in english:
            assert r.text != english[path]
    page = web.login("root").get("/audit", headers={"accept-language": lang})
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
