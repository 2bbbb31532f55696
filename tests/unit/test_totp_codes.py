"""TOTP codes and recovery codes: pure functions, checked against codes pyotp computes from the secret."""

from __future__ import annotations

import pyotp

from webapp.accounts import totp_codes

NOW = 1_800_000_000.0  # a fixed instant: step 60_000_000


def test_the_current_code_matches_its_step_and_the_neighbours_within_the_drift():
    secret = totp_codes.new_secret()
    totp = pyotp.TOTP(secret)
    step = int(NOW // 30)
    assert totp_codes.matching_step(secret, totp.at(NOW), NOW) == step
    assert totp_codes.matching_step(secret, totp.at(NOW - 30), NOW) == step - 1
    assert totp_codes.matching_step(secret, totp.at(NOW + 30), NOW) == step + 1
    assert totp_codes.matching_step(secret, totp.at(NOW - 90), NOW) is None  # too old


def test_a_code_of_a_step_already_used_is_refused():
    secret = totp_codes.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    step = totp_codes.matching_step(secret, code, NOW)
    assert totp_codes.matching_step(secret, code, NOW, last_step=step) is None
    assert totp_codes.matching_step(secret, code, NOW, last_step=step - 1) == step


def test_codes_of_another_shape_never_match():
    secret = totp_codes.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    for typed in ("", "12345", code + "0", "abcdef", " " + code[:3]):
        assert totp_codes.matching_step(secret, typed, NOW) is None
    assert totp_codes.matching_step(secret, totp_codes.normalised(f" {code[:3]} {code[3:]} "), NOW) is not None


def test_recovery_codes_are_ten_distinct_codes_stored_as_digests_typed_any_way():
    codes = totp_codes.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    digest = totp_codes.recovery_digest(codes[0])
    assert digest == totp_codes.recovery_digest(codes[0].upper().replace("-", " "))
    assert codes[0] not in digest and len(digest) == 64


def test_the_qr_code_is_inline_svg_of_the_provisioning_uri():
    secret = totp_codes.new_secret()
    uri = totp_codes.provisioning_uri(secret, "ada")
    assert uri.startswith("otpauth://totp/Taskboard:ada?") and f"secret={secret}" in uri
    svg = totp_codes.qr_svg(uri)
    assert svg.startswith("<svg") and "<?xml" not in svg
