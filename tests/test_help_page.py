"""The help page (pages/help.py) in Chinese and English: a link to every page and to every view of the
supervision centre, every definition of the catalog (the ``help.*`` texts of the ⓘ, never a copy), nothing
for a signed-out visitor; and the Overview's first-visit tip that points to it (dismissed for the session)."""
from __future__ import annotations

from datetime import datetime

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, open_app_page, serve_fixture
from ui import glossary
from ui.i18n import CATALOG, translate

NOW = datetime(2026, 3, 20, 12, 0)
NAV = {"overview": "nav.overview", "cases": "nav.cases", "supervision": "nav.supervision", "warnings": "nav.warnings",
       "staffing": "nav.staffing", "volunteers": "nav.volunteers", "assets": "nav.assets", "clean": "nav.clean",
       "audit": "nav.audit"}
VIEWS = ("backlog", "steps", "departments", "bounces", "orders", "integrity", "duplicates", "callbacks", "ranking")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield serve_fixture("sqlite", tmp_path_factory.mktemp("help"), mp, "metrics", NOW)


def _text(at) -> str:
    return "\n".join(x.value for kind in ("title", "subheader", "markdown", "caption") for x in at.get(kind))


def _links(at) -> list:
    return [x.proto for x in at.get("page_link")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_help_page_links_every_page_and_view(served, lang):
    at = open_app_page(served, "help", lang=lang)
    assert at.title[0].value == translate("guide.title", lang)
    links = _links(at)
    by_label = {p.label: p for p in links}
    for url_path, key in NAV.items():  # a leader may read the audit log: all nine pages
        link = by_label[translate(key, lang)]
        assert link.page.strip("/") == ("" if url_path == "overview" else url_path)  # the default page: "/"
        assert not link.query_string
    for view in VIEWS:
        link = by_label[translate(f"sc.view.{view}", lang)]
        assert link.query_string == f"view={view}"
        assert translate(f"guide.view.{view}", lang) in _text(at)
    for key in ("guide.filters.body", "guide.url.body", "guide.order.body", *(f"guide.page.{p}" for p in NAV)):
        assert translate(key, lang) in _text(at), key


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_help_page_shows_every_definition_once_from_the_catalog(served, lang):
    at = open_app_page(served, "help", lang=lang)
    text = _text(at)
    other = "en" if lang == "zh" else "zh"
    keys = glossary.help_keys()
    assert len(keys) >= 27  # the definitions of ui/i18n.py at the time of writing, at least
    for key in keys:
        shown = glossary.definition(key, lang)
        assert shown in text, key
        assert glossary.definition(key, other) not in text, key  # one language
        if "{" not in CATALOG[key][lang]:
            assert shown == translate(key, lang)  # the very text of the ⓘ, not a second copy
    # each listed definition under its term
    sep = "：" if lang == "zh" else ": "
    for _, items in glossary.sections():
        for term, key in items:
            if term:
                assert f"**{translate(term, lang)}**{sep}{glossary.definition(key, lang)}" in text, key


def test_glossary_placeholders_read_as_symbols():
    assert "× k" in glossary.definition("help.stf.overloaded", "zh")
    assert "N days" in glossary.definition("help.vol.inactive", "en")
    assert "{" not in "".join(glossary.definition(k, lang) for k in glossary.help_keys() for lang in ("zh", "en"))


def test_help_page_without_audit_rights_has_no_link_to_it(served):
    at = open_app_page(served, "help", role="viewer", lang="zh")
    labels = [p.label for p in _links(at)]
    assert translate("nav.audit", "zh") not in labels and translate("nav.overview", "zh") in labels
    assert translate("guide.page.audit.denied", "zh") in _text(at)


def test_signed_out_help_link_shows_the_sign_in_and_nothing_else(served):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/help.py").run()
    assert not at.exception
    text = _text(at)
    assert translate("auth.title", "zh") in text
    assert translate("guide.title", "zh") not in text and not _links(at)


def _rerun(at: AppTest) -> AppTest:
    at._finished_page_script_hash = ""  # AppTest re-requests its last page by hash; see tests/test_app.py rerun()
    return at.run()


def _tip_shown(at) -> bool:
    return any(translate("guide.tip", "zh") in m.value for m in at.markdown)


def test_first_visit_tip_on_the_overview_is_dismissed_for_the_session(served):
    at = open_app_page(served, "overview")
    assert _tip_shown(at)
    assert translate("guide.tip.open", "zh") in [p.label for p in _links(at)]
    assert not at.info or translate("guide.tip", "zh") not in [i.value for i in at.info]  # not an empty-state info
    at.button(key="guide_tip_dismiss").click()
    _rerun(at)
    assert not at.exception and not _tip_shown(at)
    _rerun(at)
    assert not _tip_shown(at)  # remembered in the session


def test_opening_the_help_page_retires_the_tip(served):
    at = open_app_page(served, "help")
    at.switch_page("pages/overview.py").run()
    assert not at.exception and not _tip_shown(at)
