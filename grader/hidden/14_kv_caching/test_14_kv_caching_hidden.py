"""Hidden tests for module 14 (KV caching).

The GPT gets parameters of the test's own choosing through `load_state_dict`; every
expected value comes from the float64 NumPy GPT of grader/testing/gpt_reference.py
(logits position by position, the keys and values each layer must cache, tokens from
the same seed), and the cached answers are also compared with the student's own uncached
model. Positions are checked from 0, so a prefill that skips position 0 fails here.
Every call on the student's code runs in the worker.

PYTEST_DONT_REWRITE: failures show the helpers' messages, never this file's source.
"""

import numpy as np
import pytest

from grader.testing import gpt_reference as ref
from grader.testing.checks import as_array, assert_array, assert_tensor
from grader.testing.kit import student, worker_rng

kv_caching = student.kv_caching
KVCache = kv_caching.KVCache
GPT = student.transformers.GPT
MultiheadAttention = student.attention.MultiheadAttention
Tensor = student.tensor.Tensor

F64 = np.float64
VOCAB, CONTEXT, WIDTH, HEADS, LAYERS = 9, 10, 8, 2, 2


def _gpt(seed, context=CONTEXT):
    model = GPT(VOCAB, context, WIDTH, HEADS, LAYERS, rng=worker_rng(seed))
    state = ref.gpt_state(VOCAB, context, WIDTH, LAYERS, seed)
    model.load_state_dict(state)
    return model, {name: value.astype(F64) for name, value in state.items()}


def _ids(ids):
    return Tensor(ids, dtype=np.int64)


# ---- 14.1 the arrays ----
@pytest.mark.task("14.1")
@pytest.mark.points(3)
@pytest.mark.parametrize(
    "sizes,dtype",
    [((1, 1, 1, 1, 1), np.float32), ((3, 2, 4, 7, 5), np.float32), ((2, 1, 3, 4, 6), F64)],
)
def test_arrays_are_preallocated_with_the_exact_bytes(sizes, dtype):
    layers, batch, heads, max_len, dim = sizes
    cache = KVCache(*sizes, dtype=dtype)
    count_keys, count_values = len(cache.keys), len(cache.values)
    assert (count_keys, count_values) == (layers, layers), (count_keys, count_values)
    for layer in range(layers):
        for name, arrays in (("keys", cache.keys), ("values", cache.values)):
            array = arrays[layer]
            want = (batch, heads, max_len, dim)
            assert array.shape == want, f"{name}[{layer}]: shape {array.shape}, want {want}"
            assert array.dtype == np.dtype(dtype), f"{name}[{layer}]: dtype {array.dtype}"
    expected = 2 * layers * batch * heads * max_len * dim * np.dtype(dtype).itemsize
    nbytes, length = cache.nbytes, cache.length
    assert nbytes == expected, f"nbytes of KVCache{sizes}: {nbytes}, want {expected}"
    assert length == 0, f"a new cache holds no positions: length {length}"


@pytest.mark.task("14.1")
@pytest.mark.points(2)
def test_for_model_fits_the_model_and_bad_sizes_are_refused():
    model = GPT(VOCAB, 12, 12, 3, 4, rng=worker_rng(1))
    cache = KVCache.for_model(model, 2)
    keys, nbytes = list(cache.keys), cache.nbytes
    shapes = [k.shape for k in keys]
    assert shapes == [(2, 3, 12, 4)] * 4, f"for_model(GPT with 4 layers, 3 heads of 4), 2: {shapes}"
    assert nbytes == 2 * 4 * 2 * 3 * 12 * 4 * 4, nbytes
    shorter = KVCache.for_model(model, 1, max_len=5)
    shapes = [v.shape for v in list(shorter.values)]
    assert shapes == [(1, 3, 5, 4)] * 4, f"max_len=5: {shapes}"
    for sizes in ((0, 1, 1, 1, 1), (1, 1, 1, -2, 1), (1, 1, 1, 1, 0)):
        with pytest.raises(ValueError, match="positive"):
            KVCache(*sizes)


# ---- 14.2 append, advance, reset ----
@pytest.mark.task("14.2")
@pytest.mark.points(4)
def test_append_places_every_chunk_at_its_positions():
    rng = np.random.default_rng(2)
    cache = KVCache(2, 2, 3, 7, 4)
    written = {layer: ([], []) for layer in range(2)}
    for size in (3, 1, 2):
        start = cache.length
        for layer in range(2):
            key, value = (rng.standard_normal((2, 3, size, 4)).astype(np.float32) for _ in "kv")
            written[layer][0].append(key)
            written[layer][1].append(value)
            keys, values = cache.append(layer, key, value)
            so_far = np.concatenate(written[layer][0], axis=2)
            what = f"layer {layer}: keys returned after appending {size} at position {start}"
            assert_array(keys, so_far, what, atol=0)
            assert_array(values, np.concatenate(written[layer][1], axis=2), "values", atol=0)
            assert cache.length == start, "append must not move length; advance does"
        cache.advance(size)
    assert cache.length == 6, f"3 + 1 + 2 positions: length {cache.length}"
    for layer in range(2):
        stored = cache.keys[layer][:, :, :6]
        assert_array(stored, np.concatenate(written[layer][0], axis=2), "the stored keys", atol=0)
        first = cache.values[layer][:, :, 0]
        assert_array(first, written[layer][1][0][:, :, 0], "position 0 of the values", atol=0)


@pytest.mark.task("14.2")
@pytest.mark.points(2)
def test_reset_overflow_and_wrong_shapes():
    cache = KVCache(1, 1, 2, 4, 3)
    chunk = np.ones((1, 2, 3, 3), dtype=np.float32)
    cache.append(0, chunk, chunk)
    cache.advance(3)
    with pytest.raises(ValueError, match="max_len"):
        cache.append(0, np.ones((1, 2, 2, 3)), np.ones((1, 2, 2, 3)))
    with pytest.raises(ValueError):
        cache.advance(2)
    cache.reset()
    assert cache.length == 0
    again = np.full((1, 2, 4, 3), 2.0, dtype=np.float32)
    keys, _ = cache.append(0, again, again)
    assert_array(keys, again, "a full cache after reset, from position 0", atol=0)
    with pytest.raises(ValueError, match="shape"):
        cache.append(0, np.ones((1, 3, 1, 3)), np.ones((1, 3, 1, 3)))
    with pytest.raises(IndexError):
        cache.append(1, chunk, chunk)


# ---- 14.3 attention over the cache ----
@pytest.mark.task("14.3")
@pytest.mark.points(5)
def test_attend_matches_causal_attention_chunk_by_chunk():
    layer = MultiheadAttention(WIDTH, HEADS, batch_first=True)
    full_state = ref.gpt_state(VOCAB, CONTEXT, WIDTH, 1, 3)
    prefix = "blocks.0.self_attn."
    state = {k[len(prefix) :]: v for k, v in full_state.items() if k.startswith(prefix)}
    layer.load_state_dict(state)
    state = {name: value.astype(F64) for name, value in state.items()}
    x = np.random.default_rng(4).standard_normal((2, 7, WIDTH)).astype(np.float32)
    expected, keys, values = ref.self_attention_kv(state, "", x.astype(F64), HEADS)
    cache = KVCache(1, 2, HEADS, 8, WIDTH // HEADS)
    start = 0
    for size in (3, 1, 1, 2):
        out = cache.attend(layer, Tensor(x[:, start : start + size]), 0)
        what = f"attend of positions {start}..{start + size - 1} over the cache"
        assert_tensor(out, expected[:, start : start + size], what, rtol=1e-4, atol=1e-5)
        cache.advance(size)
        start += size
    assert_array(cache.keys[0][:, :, :7], keys, "the cached keys, position 0 on", atol=1e-5)
    assert_array(cache.values[0][:, :, :7], values, "the cached values", atol=1e-5)


@pytest.mark.task("14.3")
@pytest.mark.points(6)
@pytest.mark.parametrize("chunks", [(6,), (1, 1, 1, 1, 1, 1), (4, 1, 1), (2, 3, 1)])
def test_cached_logits_match_reference_and_the_uncached_model(chunks):
    model, state = _gpt(5)
    ids = np.random.default_rng(6).integers(0, VOCAB, (2, sum(chunks)))
    expected, cached_kv = ref.gpt_trace(state, ids, HEADS)
    uncached = as_array(model(_ids(ids)), "logits without a cache")
    cache = KVCache.for_model(model, 2)
    start = 0
    for size in chunks:
        out = as_array(model(_ids(ids[:, start : start + size]), kv_cache=cache), "cached logits")
        what = f"cached logits of positions {start}..{start + size - 1} (chunks {chunks})"
        assert_array(out, expected[:, start : start + size], what, rtol=1e-4, atol=1e-4)
        assert_array(out, uncached[:, start : start + size], f"{what} vs uncached", atol=1e-5)
        start += size
        assert cache.length == start, f"after positions 0..{start - 1}: length {cache.length}"
    for layer, (keys, values) in enumerate(cached_kv):
        what = f"layer {layer}'s cached keys of positions 0..{start - 1}"
        assert_array(cache.keys[layer][:, :, :start], keys, what, rtol=1e-4, atol=1e-5)
        assert_array(cache.values[layer][:, :, :start], values, "its values", rtol=1e-4, atol=1e-5)


# ---- 14.4 cached generation ----
@pytest.mark.task("14.4")
@pytest.mark.points(4)
def test_next_logits_prefills_then_feeds_one_token():
    model, state = _gpt(7)
    ids = np.array([[1, 2, 3, 4]])
    cache = KVCache.for_model(model, 1)
    got = cache.next_logits(model, ids)
    expected = ref.gpt_logits(state, ids, HEADS)[:, -1]
    assert_array(got, expected, "next_logits on an empty cache (the prefill)", rtol=1e-4, atol=1e-4)
    assert cache.length == 4, f"the prefill caches positions 0..3: length {cache.length}"
    # The cache holds 1 2 3 4; given ids whose last is new, only that token is fed, so
    # the answer follows the cached history, not the (different) earlier ids given here.
    got = cache.next_logits(model, np.array([[8, 8, 8, 8, 5]]))
    expected = ref.gpt_logits(state, np.array([[1, 2, 3, 4, 5]]), HEADS)[:, -1]
    assert_array(got, expected, "one new token fed to the cache", rtol=1e-4, atol=1e-4)
    assert cache.length == 5
    got = cache.next_logits(model, np.array([[6, 7]]))
    expected = ref.gpt_logits(state, np.array([[6, 7]]), HEADS)[:, -1]
    assert_array(got, expected, "ids that do not extend the cache: a new prefill", atol=1e-4)
    assert cache.length == 2


@pytest.mark.task("14.4")
@pytest.mark.points(6)
@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, None), (0.7, 4)])
def test_cached_generation_matches_reference_tokens(temperature, top_k):
    model, state = _gpt(8)
    prompt = np.array([[1, 2, 3], [4, 0, 2]])
    out = kv_caching.generate(model, prompt, 6, temperature, top_k, seed=9)
    expected, _ = ref.generate(state, prompt, HEADS, CONTEXT, 6, temperature, top_k, seed=9)
    what = f"cached generation (temperature={temperature}, top_k={top_k}, seed=9)"
    assert_tensor(out, expected, what, dtype=np.int64, atol=0)
    plain = kv_caching.generate(model, prompt, 6, temperature, top_k, seed=9, use_cache=False)
    assert_tensor(plain, expected, "the same without the cache", dtype=np.int64, atol=0)


@pytest.mark.task("14.4")
@pytest.mark.points(4)
def test_generation_past_the_context_slides_the_window():
    model, state = _gpt(10, context=5)
    prompt = np.array([[2, 7]])
    cache = KVCache.for_model(model, 1)
    out = model.generate(prompt, 9, temperature=0.8, seed=11, kv_cache=cache)
    expected, _ = ref.generate(state, prompt, HEADS, 5, 9, 0.8, None, seed=11)
    what = "cached generation of 9 tokens past a context of 5"
    assert_tensor(out, expected, what, dtype=np.int64, atol=0)
    assert cache.length == 5, f"the last window fills the cache: length {cache.length}"
    greedy = kv_caching.generate(model, np.array([[1]]), 12, temperature=0.0)
    expected, _ = ref.generate(state, np.array([[1]]), HEADS, 5, 12, temperature=0.0)
    assert_tensor(greedy, expected, "greedy, 12 tokens past a context of 5", dtype=np.int64)


@pytest.mark.task("14.4")
@pytest.mark.points(2)
def test_generate_checks_the_batch_of_its_cache():
    model, _ = _gpt(12)
    cache = KVCache.for_model(model, 2)
    with pytest.raises(ValueError, match="batch"):
        model.generate(np.array([[1, 2]]), 2, kv_cache=cache)
    zero = as_array(kv_caching.generate(model, np.array([[3]]), 0), "generate(ids, 0)")
    assert zero.tolist() == [[3]], zero
