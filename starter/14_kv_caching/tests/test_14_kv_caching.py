"""Visible tests for module 14 (KV caching). Run them with `make grade MODULE=14`.

Each test names its task; the hidden tests compare cached logits with the uncached
model and with a NumPy GPT position by position, and cached tokens with uncached ones.
Your code runs in a separate process: `student.kv_caching.KVCache` is your class there,
and `assert_tensor` fetches a returned Tensor's `.data` and compares it with an array.
"""

import numpy as np
import pytest

from grader.testing.checks import as_array, assert_array
from grader.testing.kit import student, worker_rng

kv_caching = student.kv_caching
KVCache = kv_caching.KVCache
GPT = student.transformers.GPT
Tensor = student.tensor.Tensor


@pytest.mark.task("14.1")
@pytest.mark.points(3)
def test_cache_is_preallocated_and_counts_its_bytes():
    cache = KVCache(2, 3, 4, 10, 5)
    length, nbytes, keys = cache.length, cache.nbytes, list(cache.keys)
    assert length == 0, "a new cache holds no positions"
    assert len(keys) == 2, f"one keys array per layer: got {len(keys)}"
    for layer, array in enumerate(keys):
        assert array.shape == (3, 4, 10, 5), f"keys of layer {layer}: {array.shape}"
        assert array.dtype == np.float32, array.dtype
    # 2 layers x (keys + values) x 3 x 4 x 10 x 5 float32 values of 4 bytes each
    assert nbytes == 2 * 2 * 3 * 4 * 10 * 5 * 4, f"nbytes = {nbytes}"


@pytest.mark.task("14.2")
@pytest.mark.points(3)
def test_append_writes_from_position_zero_and_returns_all_so_far():
    cache = KVCache(1, 1, 2, 6, 3)
    first = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    keys, values = cache.append(0, first, -first)
    assert_array(keys, first, "keys after appending 2 positions to an empty cache")
    cache.advance(2)
    second = np.full((1, 2, 1, 3), 7.0, dtype=np.float32)
    keys, values = cache.append(0, second, second)
    assert_array(keys, np.concatenate([first, second], axis=2), "keys after 2 + 1 positions")
    assert_array(values[:, :, :2], -first, "values of positions 0 and 1")
    cache.reset()
    assert cache.length == 0, "reset forgets every position"
    with pytest.raises(ValueError, match="max_len"):
        cache.append(0, np.zeros((1, 2, 7, 3), dtype=np.float32), np.zeros((1, 2, 7, 3)))


@pytest.mark.task("14.3")
@pytest.mark.points(4)
def test_cached_forward_gives_the_uncached_logits():
    model = GPT(11, 8, 8, 2, 2, rng=worker_rng(0))
    ids = np.array([[1, 5, 2, 7, 3]])
    full = as_array(model(Tensor(ids, dtype=np.int64)), "logits without a cache")
    cache = KVCache.for_model(model, 1)
    prefill = as_array(model(Tensor(ids[:, :3], dtype=np.int64), kv_cache=cache), "prefill")
    np.testing.assert_allclose(prefill, full[:, :3], rtol=1e-4, atol=1e-5)
    assert cache.length == 3, f"the prefill wrote positions 0, 1, 2: length {cache.length}"
    for position in (3, 4):
        step = model(Tensor(ids[:, position : position + 1], dtype=np.int64), kv_cache=cache)
        got = as_array(step, f"cached logits of position {position}")
        np.testing.assert_allclose(got[:, 0], full[:, position], rtol=1e-4, atol=1e-5)


@pytest.mark.task("14.4")
@pytest.mark.points(4)
def test_cached_generation_gives_the_same_tokens():
    model = GPT(11, 16, 8, 2, 2, rng=worker_rng(1))
    prompt = np.array([[3, 1], [4, 1]])
    cached = kv_caching.generate(model, prompt, 10, seed=5)
    uncached = kv_caching.generate(model, prompt, 10, seed=5, use_cache=False)
    tokens = as_array(cached, "cached generation")
    assert tokens.shape == (2, 12), f"the prompt and 10 new tokens: {tokens.shape}"
    assert np.array_equal(tokens, as_array(uncached, "uncached generation"))
