"""Count-based character language models: the baselines a neural model must beat.

An n-gram model predicts the next character from the n-1 before it, by counting. Here
each order is an interpolated Kneser-Ney model (Chen and Goodman, 1998): the count of
`context + char` is discounted by D and the mass freed goes to the next shorter context,
down to a uniform distribution over the alphabet; below the top order, counts are
continuation counts (how many different characters precede an n-gram), which is what
makes Kneser-Ney better than plain backing off. D = n1 / (n1 + 2 n2) per order, from the
numbers of n-grams seen once and twice.

    model = KneserNey.fit(train_text, order=7)
    model.nats_per_char(validation_text)          # mean -ln p(char | up to 6 before)

Counting is vectorised: every n-gram becomes one integer (base-|alphabet| digits), and
`np.unique` counts them; lookups are binary searches. Characters never seen in training
get the uniform share of the alphabet plus one slot for "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KneserNey", "baselines"]


@dataclass(frozen=True)
class _Order:
    """Counts of one order k: k-grams, their contexts (the first k-1 characters)."""

    grams: np.ndarray
    """Sorted codes of the k-grams seen."""
    counts: np.ndarray
    """Count of each k-gram (raw at the top order, continuation counts below)."""
    contexts: np.ndarray
    """Sorted codes of the (k-1)-gram contexts seen."""
    context_totals: np.ndarray
    """Sum of `counts` over the k-grams of each context."""
    context_types: np.ndarray
    """How many different characters follow each context."""
    discount: float


class KneserNey:
    """An interpolated Kneser-Ney character model of a given order."""

    def __init__(self, alphabet: str, orders: list[_Order]) -> None:
        self.alphabet = alphabet
        self.index = {c: i for i, c in enumerate(alphabet)}
        self.orders = orders

    @property
    def order(self) -> int:
        return len(self.orders)

    @classmethod
    def fit(cls, text: str, order: int) -> KneserNey:
        """Count every n-gram of `text` up to `order` characters."""
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if len(text) < order:
            raise ValueError(f"a text of {len(text)} characters is too short for order {order}")
        alphabet = "".join(sorted(set(text)))
        model = cls(alphabet, [])
        ids = model._encode(text)
        base = len(alphabet) + 1
        top_grams, top_counts = np.unique(_codes(ids, order, base), return_counts=True)
        levels: dict[int, tuple[np.ndarray, np.ndarray]] = {order: (top_grams, top_counts)}
        for k in range(order - 1, 0, -1):
            # continuation count of a k-gram: the distinct (k+1)-grams that end with it
            levels[k] = np.unique(levels[k + 1][0] % base**k, return_counts=True)
        model.orders = [_summarise(*levels[k], k, base) for k in range(1, order + 1)]
        return model

    def _encode(self, text: str) -> np.ndarray:
        unknown = len(self.alphabet)
        return np.fromiter((self.index.get(c, unknown) for c in text), np.int64, len(text))

    def log_probs(self, text: str) -> np.ndarray:
        """ln p(text[i] | the up to order-1 characters before it), for every i."""
        ids = self._encode(text)
        base = len(self.alphabet) + 1
        prob = np.full(len(ids), 1.0 / base)
        for k, level in enumerate(self.orders, start=1):
            grams = _padded_codes(ids, k, base)  # -1 where fewer than k characters exist
            context = np.where(grams >= 0, grams // base, -1)
            prob = _interpolate(level, grams, context, prob)
        return np.log(prob)

    def nats_per_char(self, text: str) -> float:
        """Mean negative log-likelihood of `text`, in nats per character."""
        return float(-self.log_probs(text).mean())


def _codes(ids: np.ndarray, k: int, base: int) -> np.ndarray:
    """The code of every k-gram of `ids` (first character most significant)."""
    codes = np.zeros(len(ids) - k + 1, np.int64)
    for offset in range(k):
        codes = codes * base + ids[offset : len(ids) - k + 1 + offset]
    return codes


def _padded_codes(ids: np.ndarray, k: int, base: int) -> np.ndarray:
    """k-gram codes ending at each position, -1 for the first k-1 positions."""
    codes = np.full(len(ids), -1, np.int64)
    if len(ids) >= k:
        codes[k - 1 :] = _codes(ids, k, base)
    return codes


def _summarise(grams: np.ndarray, counts: np.ndarray, k: int, base: int) -> _Order:
    """Per-context totals and type counts, and the order's discount."""
    contexts, starts = np.unique(grams // base, return_index=True)
    totals = np.add.reduceat(counts, starts) if len(counts) else counts
    types = np.diff(np.append(starts, len(grams)))
    once, twice = int((counts == 1).sum()), int((counts == 2).sum())
    discount = once / (once + 2 * twice) if once else 0.5
    return _Order(grams, counts, contexts, totals, types, discount)


def _lookup(keys: np.ndarray, table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[table == key] for each key, 0 where the key is not in the sorted table."""
    if len(table) == 0:
        return np.zeros(len(keys), values.dtype)
    at = np.clip(np.searchsorted(table, keys), 0, len(table) - 1)
    return np.where(table[at] == keys, values[at], 0)


def _interpolate(
    level: _Order, grams: np.ndarray, context: np.ndarray, lower: np.ndarray
) -> np.ndarray:
    """p_k = (max(c(hw) - D, 0) + D * N1+(h.) * p_(k-1)) / c(h), or p_(k-1) if h unseen."""
    count = _lookup(grams, level.grams, level.counts).astype(float)
    total = _lookup(context, level.contexts, level.context_totals).astype(float)
    types = _lookup(context, level.contexts, level.context_types).astype(float)
    seen = (total > 0) & (grams >= 0)
    mixed = (np.maximum(count - level.discount, 0.0) + level.discount * types * lower) / np.where(
        seen, total, 1.0
    )
    return np.where(seen, mixed, lower)


def baselines(train: str, validation: str, orders: range = range(1, 8)) -> dict[str, float]:
    """Validation nats per character of each order, named "1-gram" ... "7-gram"."""
    return {f"{n}-gram": KneserNey.fit(train, n).nats_per_char(validation) for n in orders}
