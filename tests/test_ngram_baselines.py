"""The n-gram baselines of milestone 05: interpolated Kneser-Ney, checked against a
plain dictionary implementation of the same formulas and for normalisation."""

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from milestones.ngram import KneserNey, baselines


def _reference(train: str, order: int):
    """p(char | context) by the textbook recursion, with dicts of strings."""
    alphabet = sorted(set(train))
    size = len(alphabet) + 1
    counts = {order: Counter(train[i : i + order] for i in range(len(train) - order + 1))}
    for k in range(order - 1, 0, -1):
        counts[k] = Counter(g[1:] for g in counts[k + 1])  # distinct left neighbours
    totals, types, discounts = {}, {}, {}
    for k, table in counts.items():
        totals[k], types[k] = defaultdict(int), defaultdict(int)
        for gram, count in table.items():
            totals[k][gram[:-1]] += count
            types[k][gram[:-1]] += 1
        once = sum(1 for c in table.values() if c == 1)
        twice = sum(1 for c in table.values() if c == 2)
        discounts[k] = once / (once + 2 * twice) if once else 0.5

    def prob(history: str, char: str) -> float:
        p = 1.0 / size
        for k in range(1, order + 1):
            if len(history) < k - 1:
                break
            context = history[len(history) - k + 1 :] if k > 1 else ""
            total = totals[k].get(context, 0)
            if total:
                d, seen = discounts[k], counts[k].get(context + char, 0)
                p = (max(seen - d, 0) + d * types[k][context] * p) / total
        return p

    return prob


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_log_probs_match_the_textbook_formulas(order):
    rng = np.random.default_rng(order)
    train = "".join(
        rng.choice(list("abcde \n"), size=3000, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.05])
    )
    text = "".join(rng.choice(list("abcdefz "), size=400))  # f and z never seen in training
    model, prob = KneserNey.fit(train, order), _reference(train, order)
    expected = [math.log(prob(text[max(0, i - order + 1) : i], text[i])) for i in range(len(text))]
    np.testing.assert_allclose(model.log_probs(text), expected, rtol=1e-10)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    train=st.text(alphabet="xyz. ", min_size=8, max_size=200),
    context=st.text(alphabet="xyzq. ", max_size=6),
    order=st.integers(1, 4),
)
def test_every_context_gives_a_distribution(train, context, order):
    model = KneserNey.fit(train, order)
    outcomes = [*model.alphabet, "\x00"]  # "\x00": a character never seen in training
    total = sum(math.exp(model.log_probs(context + c)[-1]) for c in outcomes)
    assert total == pytest.approx(1.0, abs=1e-9)


def test_longer_contexts_predict_a_repetitive_text_better():
    text = "the cat sat on the mat. " * 200
    scores = baselines(text[:4000], text[4000:], orders=range(1, 5))
    assert list(scores) == ["1-gram", "2-gram", "3-gram", "4-gram"]
    assert scores["1-gram"] > scores["2-gram"] > scores["3-gram"] > scores["4-gram"]
    assert scores["4-gram"] < 0.2


def test_bad_orders_and_short_texts_are_refused():
    with pytest.raises(ValueError, match="order must be at least 1"):
        KneserNey.fit("abc", 0)
    with pytest.raises(ValueError, match="too short for order 7"):
        KneserNey.fit("abc", 7)
