"""What a server or a config file can hand the CLI: answers, URLs, the config file itself.

Each parser gives a value or gitward's own error, never a traceback; a saved config
reads back as it was written.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gitward.apiclient import ApiClientError, server_url
from gitward.apiclient.config import ClientConfig, ServerEntry, parse_config, render_config
from gitward.apiclient.errors import MAX_MESSAGE, error_from_answer
from gitward.model.errors import GitwardError
from tests.unit.properties.strategies import json_values, url_texts

answers = st.one_of(
    st.text(max_size=40),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"code": st.one_of(st.integers(-5, 20), json_values), "message": json_values}
    ).map(json.dumps),
    st.just("{" * 5000),
)


@given(st.integers(100, 599), answers)
def test_any_answer_is_a_typed_error(status: int, text: str) -> None:
    error = error_from_answer(status, text)
    assert isinstance(error, ApiClientError)
    assert str(error)
    assert len(str(error)) <= MAX_MESSAGE + 1
    assert "\n" not in str(error)


@given(url_texts, st.booleans())
def test_server_names(text: str, plain: bool) -> None:
    try:
        url = server_url(text, plain)
    except GitwardError:
        return
    assert url.startswith(("http://", "https://"))
    assert "@" not in url.split("/")[2]


config_docs = st.one_of(
    st.text(max_size=60),
    st.dictionaries(
        st.sampled_from(["contexts", "servers", "users", "current-context", "x"]),
        st.one_of(json_values, st.lists(st.dictionaries(
            st.sampled_from(["name", "server", "user", "auth-token", "insecure", "plain-text"]),
            json_values, max_size=6), max_size=3)),
        max_size=5,
    ).map(json.dumps),
)  # fmt: skip


@given(config_docs)
def test_any_config_file_reads_or_is_refused(text: str) -> None:
    try:
        config = parse_config(text, "config")
    except GitwardError:
        return
    assert isinstance(config, ClientConfig)


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@given(st.lists(st.tuples(names, names, st.booleans(), st.booleans(), names), max_size=4))
def test_a_saved_config_reads_back(logins: list[tuple[str, str, bool, bool, str]]) -> None:
    config = ClientConfig()
    for name, server, insecure, plain, token in logins:
        config.log_in(name, ServerEntry(server, insecure, plain), token)
    again = parse_config(render_config(config), "config")
    assert again == config
