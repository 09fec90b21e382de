"""The one comparison form of identifiers (scim/protocol/text.py) and the stores that must share it."""

from __future__ import annotations

import unicodedata

import precis_i18n
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim.errors import InvalidValue
from scim.protocol.text import check_identifier, has_surrogate, identity_key, surrogate_at
from scim.store import _codec
from scim.store._common import caseless_key, exact_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice@Contoso.com", "alice@contoso.com"),
        ("jos\u00e9", "jose\u0301"),  # NFC and NFD
        ("\uff21lice", "alice"),  # fullwidth
        ("  alice ", "alice"),
        ("Finance   Team", "finance team"),
        ("Stra\u00dfe", "STRASSE"),  # full case folding, as the stores did before
    ],
)
def test_names_that_look_alike_share_one_key(a: str, b: str) -> None:
    assert identity_key(a) == identity_key(b)


def test_external_ids_fold_form_and_width_but_not_case() -> None:
    assert identity_key("\uff25xt-1", case_exact=True) == identity_key("Ext-1", case_exact=True)
    assert identity_key("Ext-1", case_exact=True) != identity_key("ext-1", case_exact=True)


@pytest.mark.parametrize("bad", ["a\u200bb", "a\u00adb", "a\x00", "a\nb", "\x1b[31m", "a\u0378"])
def test_refused_identifiers_name_the_character_and_get_a_key_no_valid_name_has(bad: str) -> None:
    with pytest.raises(InvalidValue, match=r"userName contains U\+"):
        check_identifier(bad, "userName")
    assert identity_key(bad).startswith("\x00")


def test_the_memory_store_and_the_table_codec_fold_with_the_same_function() -> None:
    assert caseless_key("\uff21LICE ") == identity_key("alice")
    assert exact_key("\uff25xt") == identity_key("Ext", case_exact=True)
    assert _codec.user_name_rk("\uff21LICE ") == _codec.user_name_rk("alice")
    assert _codec.display_name_rk(" Finance  Team") == _codec.display_name_rk("finance team")
    assert _codec.external_id_rk("\uff25xt") == _codec.external_id_rk("Ext") != _codec.external_id_rk("ext")


def test_surrogates_are_found_and_located() -> None:
    assert has_surrogate("a\ud800") and not has_surrogate("\U0001f600") and not has_surrogate("plain")
    assert surrogate_at({"emails": [{"value": "ok"}, {"value": "\udc00"}]}) == "emails[1].value"
    assert surrogate_at({"name": {"\ud800": 1}}) == "a key of name"
    assert surrogate_at({"ok": ["fine"]}) is None


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30))
def test_the_printable_ascii_shortcut_agrees_with_the_library(text: str) -> None:
    profile = precis_i18n.get_profile("NicknameCasePreserved")
    try:
        expected = unicodedata.normalize("NFKC", str(profile.enforce(text)).casefold())
    except UnicodeEncodeError:
        expected = "\x00" + text.casefold()
    assert identity_key(text) == expected
