"""The default embedder: the same vector for the same text, in every process and version."""

from __future__ import annotations

import hashlib
import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agentnb.telemetry.embed import HashedNgramEmbedder, _words

TEXTS = [
    "refund refused",
    "The refund was REFUSED, why?",
    "weather in Paris",
    "",
    "  ",
    "naïve café — ΟΔΟΣ",
    "a\0b",
    "x" * 5000,
]


def _reference_words(texts: list[str]) -> bytes:
    """The definition, text by text: lower-cased, runs of non-word characters one space, a space
    either side, each text ended by a 0 byte (only the first 4096 characters)."""
    parts = [b" " + re.sub(r"[^\w]+", " ", t[:4096].lower()).strip().encode() + b" " for t in texts]
    return b"\0".join(parts) + b"\0"


def test_the_stored_vectors_do_not_change() -> None:
    # Stores keep these vectors: a change to the tokens or the hashing would make old and new
    # runs incomparable in `search()`. The sign of each bucket is exact on every platform.
    vectors = HashedNgramEmbedder().embed(TEXTS)
    assert vectors.shape == (8, 256)
    assert int(np.count_nonzero(vectors)) == 197
    signs = hashlib.sha256(np.sign(vectors).astype(np.int8).tobytes()).hexdigest()
    assert signs == "768eede6c86de9f574936041261475977db9c58cccb34cfe358912f109a6ec2e"
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 2, 5, 6, 7]], axis=1), 1.0)


ascii_texts = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(ascii_texts | st.text(max_size=40), max_size=8))
def test_batch_normalisation_matches_the_per_text_definition(texts: list[str]) -> None:
    assert _words(texts) == _reference_words(texts)
