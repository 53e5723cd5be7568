"""Time BPE training on your machine: a 500-token vocabulary on about 130 KB of text.

    python assignments/10_tokenization/time_bpe.py [TEXT_FILE]      (after `make package`)

or, in a notebook cell: `%run time_bpe.py`. Without a file it trains on the first 130 KB
of Python's own documentation (`pydoc_data`, part of the standard library). Stanford's
CS336 asks for under 1.5 s on this task; its reference takes 0.38 s on a laptop, and a
trainer that recounts every pair after each merge takes ten seconds or more. The timing
covers the whole of `BPETokenizer.train`, pre-tokenization included, best of 3 runs.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tinytorch.core.tokenization import BPETokenizer

SIZE, VOCAB, SPECIAL = 130_000, 500, "<|endoftext|>"


def corpus(argv: list[str]) -> tuple[str, str]:
    """The text to train on and where it came from."""
    if argv:
        return Path(argv[0]).read_text(encoding="utf-8")[:SIZE], argv[0]
    from pydoc_data.topics import topics

    return SPECIAL.join(topics[name] for name in sorted(topics))[:SIZE], "pydoc_data.topics"


def main() -> None:
    text, source = corpus(sys.argv[1:])
    times = []
    for _ in range(3):
        start = time.perf_counter()
        tokenizer = BPETokenizer.train(text, VOCAB, [SPECIAL])
        times.append(time.perf_counter() - start)
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text, "decode(encode(text)) must give the text back"
    size = len(text.encode("utf-8"))
    print(f"BPE training, {VOCAB} tokens on {size:,} bytes of {source}:")
    print(f"  best of 3: {min(times):.3f} s (all: {', '.join(f'{t:.3f}' for t in times)})")
    print(
        f"  {len(tokenizer.merges)} merges; the text is {len(ids):,} tokens, "
        f"{size / len(ids):.2f} bytes per token"
    )


if __name__ == "__main__":
    main()
