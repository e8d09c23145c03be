# The update's pure parts, under CPython (pytest) and the MicroPython unix port
# (run_micropython.py): Ed25519 against RFC 8032's vectors, the slots' trial and rollback,
# and what an offer and a manifest must look like before anything is downloaded.

import binascii

import ed25519
import ota
import slots

# RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72)
RFC_KEY_1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
RFC_SIG_1 = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
    "1cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
RFC_KEY_2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
RFC_SIG_2 = (
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
    "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)
SHA = "0123456789abcdef" * 4


def _raw(text):
    return binascii.unhexlify(text)


def test_rfc8032_signatures_verify():
    assert ed25519.verify(_raw(RFC_KEY_1), b"", _raw(RFC_SIG_1))
    assert ed25519.verify(_raw(RFC_KEY_2), b"\x72", _raw(RFC_SIG_2))


def test_a_changed_message_key_or_signature_is_refused():
    assert not ed25519.verify(_raw(RFC_KEY_2), b"\x73", _raw(RFC_SIG_2))
    assert not ed25519.verify(_raw(RFC_KEY_1), b"\x72", _raw(RFC_SIG_2))
    flipped = bytearray(_raw(RFC_SIG_2))
    flipped[40] ^= 1
    assert not ed25519.verify(_raw(RFC_KEY_2), b"\x72", bytes(flipped))
    assert not ed25519.verify(_raw(RFC_KEY_2), b"\x72", _raw(RFC_SIG_2)[:63])
    # S at or above the group order is malleable: refused (RFC 8032 5.1.7, step 1)
    big_s = _raw(RFC_SIG_2)[:32] + b"\xff" * 32
    assert not ed25519.verify(_raw(RFC_KEY_2), b"\x72", big_s)
    assert not ed25519.verify(b"\xff" * 32, b"\x72", _raw(RFC_SIG_2))  # no curve point


def test_sha512_matches_fips_180_abc():
    digest = binascii.hexlify(ed25519.sha512(b"abc")).decode()
    assert digest.startswith("ddaf35a193617abacc417349ae204131")
    assert digest.endswith("a54ca49f")
    assert len(ed25519.sha512(b"x" * 200)) == 64  # two blocks


def test_a_trial_gets_one_boot_then_the_known_good_slot_comes_back():
    state = slots.fresh()
    assert slots.choose(state) == ("", False)
    slot = slots.spare(state)
    slots.begin_trial(state, slot, "1.1.0", "1.0.0")
    assert slots.choose(state) == ("a", False)  # the trial boot
    assert slots.choose(state) == ("", True)  # it never confirmed: rolled back
    assert state["report"] == [
        ["ota_failed", {"fw": "1.1.0", "reason": slots.TRIAL_RESET}],
        ["ota_rolled_back", {"fw": "1.0.0", "from": "1.1.0"}],
    ]
    assert state["failed_fw"] == "1.1.0"
    assert slots.choose(state) == ("", False)


def test_a_trial_that_crashed_says_so_and_a_confirmed_one_becomes_good():
    state = slots.fresh()
    slots.begin_trial(state, "a", "1.1.0", "1.0.0")
    slots.choose(state)
    slots.end_trial(state, slots.TRIAL_CRASH)
    slots.choose(state)
    assert state["report"][0] == ["ota_failed", {"fw": "1.1.0", "reason": "trial_crash"}]
    slots.begin_trial(state, "a", "1.1.1", "1.0.0")
    assert slots.choose(state) == ("a", False)
    assert slots.confirm(state)
    assert (state["good"], state["good_fw"]) == ("a", "1.1.1")
    assert slots.spare(state) == "b"  # the next release never overwrites the running one
    assert slots.choose(state) == ("a", False)
    assert not slots.confirm(state)


def test_the_safe_boot_counter():
    assert slots.safe_boot(7, True) == 1
    assert slots.safe_boot(3, False) == 4 > slots.SAFE_BOOT_LIMIT
    assert slots.safe_boot(255, False) == 255


def _refusal(call, *args):
    try:
        call(*args)
    except ota.RefusedError as error:
        return error.reason
    return None


def _offer(**changes):
    offer = {"ver": "1.1.0", "size": 300, "sha256": SHA, "sig": binascii.b2a_base64(b"s" * 64)}
    offer["sig"] = offer["sig"].decode().strip()
    offer.update(changes)
    return {"v": 1, "id": "bz-bc-001", "fw": offer}


def test_an_offer_is_checked_before_anything_is_fetched():
    version, size, digest, signature = ota.parse_offer(_offer())
    assert (version, size, digest, signature) == ("1.1.0", 300, SHA, b"s" * 64)
    assert ota.parse_offer({"v": 1}) is None
    assert _refusal(ota.parse_offer, _offer(ver="1/../x")) == "manifest"
    assert _refusal(ota.parse_offer, _offer(size=10**6)) == "manifest"
    assert _refusal(ota.parse_offer, _offer(sha256="AB" * 32)) == "manifest"
    assert _refusal(ota.parse_offer, _offer(sig="c2hvcnQ=")) == "signature"
    assert _refusal(ota.parse_offer, {"fw": "1.1.0"}) == "manifest"


def _manifest(*lines):
    return "\n".join((ota.MAGIC, "version 1.1.0") + lines) + "\n"


def test_a_manifest_names_only_application_modules():
    good = _manifest("file app.mpy 100 " + SHA, "file link.mpy 2 " + SHA)
    assert ota.parse_manifest(good, "1.1.0") == [("app.mpy", 100, SHA), ("link.mpy", 2, SHA)]
    assert _refusal(ota.parse_manifest, good, "1.2.0") == "manifest"  # another version's
    for bad in (
        "file main.py 10 " + SHA,  # the loader is never replaced over the air
        "file ../app.py 10 " + SHA,
        "file app.txt 10 " + SHA,
        "file app.py -1 " + SHA,
        "file app.py 999999999 " + SHA,
        "file app.py 10",
    ):
        assert _refusal(ota.parse_manifest, _manifest(bad), "1.1.0") == "manifest", bad
    twice = _manifest("file app.py 1 " + SHA, "file app.py 1 " + SHA)
    assert _refusal(ota.parse_manifest, twice, "1.1.0") == "manifest"
    no_app = _manifest("file link.py 1 " + SHA)
    assert _refusal(ota.parse_manifest, no_app, "1.1.0") == "manifest"
