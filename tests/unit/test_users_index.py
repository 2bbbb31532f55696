"""The users index's shard keys, bounds and walk pages (pure logic, no sidecar)."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter

import pytest

from webapp import users_index
from webapp.keys import users_index_shard_key, users_index_shard_keys
from webapp.users_index import SHARD_LIMIT, SHARDS, IndexFull, shard_pages


def test_shard_key_is_two_hex_digits_of_the_ids_sha256():
    assert users_index_shard_key("abc") == "users-index:ba"  # sha256("abc") = ba7816bf…
    assert users_index_shard_key("abc") == users_index_shard_key("abc")
    assert len(users_index_shard_keys()) == SHARDS == 256 and len(set(users_index_shard_keys())) == 256
    assert all(users_index_shard_key(uuid.uuid4().hex) in set(users_index_shard_keys()) for _ in range(1000))


def test_a_million_users_spread_evenly_far_below_the_shard_limit():
    counts = Counter(users_index_shard_key(uuid.uuid4().hex) for _ in range(100_000))
    assert len(counts) == 256
    mean = 100_000 / 256
    assert max(counts.values()) < mean * 1.3 and min(counts.values()) > mean * 0.7
    # at 1,000,000 users each shard holds ~10x these counts: still well below the limit
    assert max(counts.values()) * 10 < SHARD_LIMIT * 0.5


def test_a_full_shard_stays_under_an_eighth_of_daprds_4_mb_item_limit():
    full = {"items": [{"id": uuid.uuid4().hex} for _ in range(SHARD_LIMIT)]}
    assert len(json.dumps(full, separators=(",", ":"))) < 4 * 1024 * 1024 / 8


@pytest.mark.parametrize("per_page", [1, 7, 16, 256, 1000])
def test_the_walk_reads_every_shard_once_in_bounded_pages(per_page):
    pages = shard_pages(per_page)
    assert len(pages) == math.ceil(SHARDS / per_page)
    assert all(1 <= len(page) <= per_page for page in pages)
    assert [key for page in pages for key in page] == users_index_shard_keys()


def test_adding_ids_skips_known_ones_and_refuses_past_the_limit():
    add = users_index.added(["b", "a", "b"])
    assert add([{"id": "a"}]) == [{"id": "b"}, {"id": "a"}]
    assert users_index.added(["a"])([{"id": "a"}]) is None  # nothing to write
    full = [{"id": str(n)} for n in range(SHARD_LIMIT)]
    with pytest.raises(IndexFull):
        users_index.added(["new"])(full)
    assert users_index.added(["0"])(full) is None  # already there: no error
