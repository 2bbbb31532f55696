"""The gateway's shared decodes (``SharedValues``): one decode per stored version, never a stale value."""

from webapp.dapr_gateway.values import SharedValues, _dumps


def test_the_same_bytes_give_the_same_object_and_other_bytes_a_fresh_decode():
    shared = SharedValues()
    first = shared.decode("index:b", _dumps({"rows": {"t1": ["a"]}}))
    again = shared.decode("index:b", _dumps({"rows": {"t1": ["a"]}}))  # equal bytes, another bytes object
    assert again is first
    # Same length, other content (what a store whose ETag restarted after a delete would hand back as "v1"):
    changed = shared.decode("index:b", _dumps({"rows": {"t1": ["b"]}}))
    assert changed is not first and changed == {"rows": {"t1": ["b"]}}
    assert shared.decode("index:other", _dumps({"rows": {"t1": ["b"]}})) is not changed  # kept per key


def test_derived_is_computed_once_per_version_and_every_time_for_a_value_not_shared():
    shared, calls = SharedValues(), []

    def compute():
        calls.append(1)
        return ("summary", len(calls))

    value = shared.decode("k", b'{"n":1}')
    assert shared.derived("k", value, "s", compute) == ("summary", 1)
    assert shared.derived("k", value, "s", compute) == ("summary", 1) and len(calls) == 1
    newer = shared.decode("k", b'{"n":2}')
    assert shared.derived("k", newer, "s", compute) == ("summary", 2)
    assert shared.derived("k", value, "s", compute) == ("summary", 3)  # the old version is no longer kept
    own = {"n": 2}  # equal, but a caller's own decode: never served what was computed for another object
    assert shared.derived("k", own, "s", compute) == ("summary", 4)
    assert shared.derived("k", own, "s", compute) == ("summary", 5)


def test_at_most_max_bytes_are_kept_least_recently_used_dropped_first():
    shared = SharedValues(max_bytes=30)
    a = shared.decode("a", b'{"v":"aaaaaaaaaa"}')  # 18 bytes
    b = shared.decode("b", b'{"v":"bbbbbbbbbb"}')  # 36 in all: "a" goes
    assert shared.decode("b", b'{"v":"bbbbbbbbbb"}') is b
    assert shared.decode("a", b'{"v":"aaaaaaaaaa"}') is not a  # decoded again (and "b" dropped for it)
    assert shared.decode("b", b'{"v":"bbbbbbbbbb"}') is not b
    huge = b'{"v":"' + b"x" * 40 + b'"}'  # larger than the whole budget: decoded, never kept
    assert shared.decode("h", huge) is not shared.decode("h", huge)
