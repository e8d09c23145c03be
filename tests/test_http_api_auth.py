"""The collector's API access rules, pure: tokens, names, hosts, listen address."""

from __future__ import annotations

import pytest

from aedfleet.collector.config import ConfigError, HttpConfig
from aedfleet.collector.http_api import access_from

TOKEN = "a-token-of-enough-length"


def test_a_listen_address_without_a_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="every interface"):
        access_from(HttpConfig(listen=":9108"))


def test_a_short_token_or_a_bad_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="shorter"):
        access_from(HttpConfig(token="short"))
    with pytest.raises(ConfigError, match="token name"):
        access_from(HttpConfig(tokens={"li wei\n": TOKEN}))


def test_each_token_is_known_by_its_name_and_nothing_else_passes() -> None:
    access = access_from(HttpConfig(token=TOKEN, tokens={"duty-li": TOKEN + "-li"}))
    assert access.who(f"Bearer {TOKEN}") == "operator"
    assert access.who(f"bearer {TOKEN}-li") == "duty-li"
    for wrong in ("", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"):
        assert access.who(wrong) is None


def test_only_the_collectors_own_host_names_are_served() -> None:
    access = access_from(HttpConfig(listen="10.0.0.5:9108", allowed_hosts=["ops.example"]))
    for host in ("127.0.0.1:9108", "localhost", "[::1]:9108", "10.0.0.5:9108", "ops.example"):
        assert access.host_allowed(host), host
    for host in ("evil.example", "evil.example:9108", "127.0.0.1.evil.example", ""):
        assert not access.host_allowed(host), host
