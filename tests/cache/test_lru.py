"""lumen_ext.cache.lru.LRU: the bounds, expiry, counters and thread-safety every cache of the package relies on."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumen_ext.cache.lru import LRU


class Clock:
    """A clock the test moves by hand, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_count_bound_evicts_the_least_recently_used():
    lru = LRU(max_entries=2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1  # "b" is now the least recently used
    lru.put("c", 3)
    assert list(lru) == ["a", "c"]
    stats = lru.stats()
    assert (stats.entries, stats.hits, stats.misses, stats.evictions) == (2, 1, 0, 1)


def test_peek_and_contains_neither_count_nor_refresh():
    lru = LRU(max_entries=2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.peek("a") == 1 and "a" in lru and "z" not in lru and lru.peek("z", "none") == "none"
    lru.put("c", 3)  # "a" was only peeked at: still the least recently used
    assert list(lru) == ["b", "c"]
    stats = lru.stats()
    assert (stats.hits, stats.misses) == (0, 0)


def test_byte_bound_evicts_until_the_new_entry_fits():
    lru = LRU(max_bytes=100)
    for key in "abc":
        lru.put(key, key.upper(), 30)
    assert lru.nbytes == 90
    lru.put("d", "D", 50)  # 140 > 100: "a" and "b" go, oldest first
    assert list(lru) == ["c", "d"] and lru.nbytes == 80
    assert lru.stats().evictions == 2


def test_a_value_bigger_than_the_budget_is_rejected_and_its_older_value_dropped():
    lru = LRU(max_bytes=10)
    lru.put("k", "old", 5)
    lru.put("other", "o", 5)
    assert lru.put("k", "new", 11) is False
    assert "k" not in lru and lru.get("other") == "o"  # the rest is kept: nothing evicted for it
    stats = lru.stats()
    assert (stats.rejected, stats.evictions, stats.bytes) == (1, 0, 5)


def test_both_bounds_hold_at_once():
    lru = LRU(max_entries=3, max_bytes=100)
    for key in "abcd":  # the count bound binds
        lru.put(key, key, 10)
    assert list(lru) == ["b", "c", "d"]
    lru.put("e", "e", 85)  # now the byte bound: 115 bytes, so the oldest go until 100 hold
    assert list(lru) == ["d", "e"] and lru.nbytes == 95
    assert lru.stats().evictions == 3


def test_replacing_a_key_updates_its_bytes_and_recency_without_an_eviction():
    lru = LRU(max_entries=2)
    lru.put("a", 1, 10)
    lru.put("b", 2, 10)
    lru.put("a", 3, 25)
    assert list(lru) == ["b", "a"] and lru.get("a") == 3 and lru.nbytes == 35
    assert lru.stats().evictions == 0


def test_an_entry_expires_ttl_seconds_after_its_put():
    clock = Clock()
    lru = LRU(max_entries=4, clock=clock)
    lru.put("k", "v", 7, ttl=10)
    lru.put("forever", "f")
    clock.now = 9.9
    assert lru.get("k") == "v"
    clock.now = 10.0
    assert "k" not in lru and lru.peek("k") is None  # neither counts nor removes
    assert lru.nbytes == 7
    assert lru.get("k") is None  # removes it and counts it
    assert lru.get("forever") == "f"
    stats = lru.stats()
    assert (stats.hits, stats.misses, stats.expirations, stats.entries, stats.bytes) == (2, 1, 1, 1, 0)


def test_pop_removes_without_counting_an_eviction():
    clock = Clock()
    lru = LRU(max_entries=2, clock=clock)
    lru.put("a", 1, 4, ttl=1)
    clock.now = 5
    assert lru.pop("a") == 1  # expired values too: pop is how a caller drops what it knows is dead
    assert lru.pop("a", "gone") == "gone"
    assert len(lru) == 0 and lru.nbytes == 0 and lru.stats().evictions == 0


def test_clear_keeps_the_counters_unless_asked():
    lru = LRU(max_entries=1)
    lru.put("a", 1, 3)
    lru.put("b", 2, 3)
    lru.get("b")
    lru.get("a")
    lru.clear()
    stats = lru.stats()
    assert (stats.entries, stats.bytes, stats.hits, stats.misses, stats.evictions) == (0, 0, 1, 1, 1)
    lru.clear(reset_stats=True)
    assert lru.stats().as_dict() == dict.fromkeys(
        ("entries", "bytes", "hits", "misses", "evictions", "expirations", "rejected"), 0
    )


def test_iteration_is_over_a_snapshot():
    lru = LRU()
    for i in range(5):
        lru.put(i, str(i))
    for key in lru:  # changing the LRU while iterating is safe
        if key % 2:
            lru.pop(key)
    assert list(lru) == [0, 2, 4]
    assert lru.values() == ["0", "2", "4"] and lru.items() == [(0, "0"), (2, "2"), (4, "4")]


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"max_entries": 0}, "max_entries"), ({"max_bytes": -1}, "max_bytes")]
)
def test_impossible_bounds_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LRU(**kwargs)


def test_the_lock_makes_a_check_and_a_put_one_step():
    lru = LRU(max_entries=1000)
    computed = []

    def get_or_put(key):
        with lru.lock:  # re-entrant: get and put take it again inside
            if lru.get(key) is None:
                computed.append(key)
                lru.put(key, key)

    threads = [threading.Thread(target=get_or_put, args=(i % 10,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(computed) == list(range(10))  # each key computed once, whatever the interleaving


def test_concurrent_puts_and_gets_keep_the_bounds_and_the_byte_count():
    lru = LRU(max_entries=50, max_bytes=400)
    errors = []

    def work(seed):
        try:
            for i in range(2000):
                key = (seed * 7 + i) % 97
                if i % 3:
                    lru.put(key, i, nbytes=key % 13)
                else:
                    lru.get(key)
                if i % 50 == 0:
                    lru.pop((key + 1) % 97)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = lru.stats()
    assert stats.entries == len(lru) <= 50 and stats.bytes == lru.nbytes <= 400
    assert lru.nbytes == sum(key % 13 for key in lru)
    assert stats.hits + stats.misses == 8 * 667


# One operation on the LRU: (name, key, size, ttl) or ("tick", seconds)
operations = st.one_of(
    st.tuples(st.just("put"), st.integers(0, 7), st.integers(0, 60), st.sampled_from([None, 1.0, 3.0])),
    st.tuples(st.sampled_from(["get", "peek", "pop"]), st.integers(0, 7)),
    st.tuples(st.just("tick"), st.sampled_from([0.5, 1.0, 2.0])),
)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(operations, max_size=60),
    max_entries=st.one_of(st.none(), st.integers(1, 5)),
    max_bytes=st.one_of(st.none(), st.integers(0, 120)),
)
def test_behaves_like_a_list_ordered_by_last_use(ops, max_entries, max_bytes):
    """Against the plainest model: a list of [key, value, size, expiry], least recently used first."""
    clock = Clock()
    lru = LRU(max_entries=max_entries, max_bytes=max_bytes, clock=clock)
    model: list[list] = []
    counts = dict.fromkeys(("hits", "misses", "evictions", "expirations", "rejected"), 0)

    def find(key):
        return next((slot for slot in model if slot[0] == key), None)

    def live(slot):
        return slot is not None and (slot[3] is None or slot[3] > clock.now)

    for op in ops:
        if op[0] == "tick":
            clock.now += op[1]
        elif op[0] == "put":
            _, key, size, ttl = op
            slot = find(key)
            if slot is not None:
                model.remove(slot)
            stored = max_bytes is None or size <= max_bytes
            if stored:
                model.append([key, object(), size, None if ttl is None else clock.now + ttl])
                while (max_bytes is not None and sum(s[2] for s in model) > max_bytes) or (
                    max_entries is not None and len(model) > max_entries
                ):
                    model.pop(0)
                    counts["evictions"] += 1
                assert lru.put(key, model[-1][1], size, ttl) is True
            else:
                counts["rejected"] += 1
                assert lru.put(key, object(), size, ttl) is False
        else:
            name, key = op
            slot = find(key)
            if name == "get":
                if slot is not None and not live(slot):
                    model.remove(slot)
                    counts["expirations"] += 1
                    slot = None
                if slot is None:
                    counts["misses"] += 1
                    assert lru.get(key) is None
                else:
                    model.remove(slot)
                    model.append(slot)
                    counts["hits"] += 1
                    assert lru.get(key) is slot[1]
            elif name == "peek":
                assert lru.peek(key) is (slot[1] if live(slot) else None)
                assert (key in lru) is live(slot)
            else:
                if slot is not None:
                    model.remove(slot)
                assert lru.pop(key) is (slot[1] if slot is not None else None)
        assert list(lru) == [s[0] for s in model]
        assert lru.nbytes == sum(s[2] for s in model)
    stats = lru.stats()
    assert {name: getattr(stats, name) for name in counts} == counts
    assert (stats.entries, stats.bytes) == (len(model), sum(s[2] for s in model))
