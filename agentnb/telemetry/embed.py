"""Embedders for `Store.search()`: text → unit vectors stored on each run row.

The default, `HashedNgramEmbedder`, is offline and deterministic: no model, no download, the same
vector for the same text in every process. It hashes character 3-, 4- and 5-grams of the
lower-cased words into a fixed number of signed buckets, so texts sharing words and word pieces
("refund", "refunds", "refused") land close together. It finds runs by vocabulary, not by meaning;
for meaning, use `SentenceTransformerEmbedder` (`pip install "agentnb[embeddings]"`) or
`OpenAIEmbedder` (`pip install "agentnb[openai]"`) via `telemetry.configure(embedder=...)`.

>>> e = HashedNgramEmbedder()
>>> v = e.embed(["refund refused", "the refund was refused", "weather in Paris"])
>>> bool(v[0] @ v[1] > v[0] @ v[2])
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentnb.errors import MissingDependency

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Embedder", "HashedNgramEmbedder", "OpenAIEmbedder", "SentenceTransformerEmbedder"]

_NON_WORD = re.compile(r"[^\w]+")
_MAX_CHARS = 4096
_CHUNK = 256
"""Only the start of very long texts is embedded (bounds the writer's work per run)."""


_ASCII_WORD_BYTES = bytes(c if chr(c).isalnum() or c in b"_\0" else 32 for c in range(128))
_ASCII_WORDS = _ASCII_WORD_BYTES + b" " * 128
"""`bytes.translate` table: ASCII word characters (and the 0 separator) kept, others a space."""


def _words(texts: Sequence[str]) -> bytes:
    """One byte string for a batch: each text lower-cased with its runs of non-word characters
    made one space, a space either side, ended by a 0 byte (so no n-gram spans two texts)."""
    clipped = [t[:_MAX_CHARS] for t in texts]
    joined = "\0".join(clipped)
    if joined.isascii() and joined.count("\0") == len(texts) - 1:
        # The same bytes as below, ~3x faster: `\w` is [A-Za-z0-9_] in ASCII, so a byte table
        # and `split()` (which also drops the spaces at either end) do the regex's work.
        words = joined.encode().lower().translate(_ASCII_WORDS).replace(b"\0", b" \0 ")
        words = b" ".join(words.split()).replace(b" \0", b"\0").replace(b"\0 ", b"\0")
        return b" " + words.replace(b"\0", b" \0 ") + b" \0"
    parts = [b" " + _NON_WORD.sub(" ", t.lower()).strip().encode() + b" " for t in clipped]
    return b"\0".join(parts) + b"\0"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of width `dim`.

    `name` identifies the embedding space; a store remembers the name it was created with and
    refuses to mix spaces.
    """

    @property
    def name(self) -> str:
        """Identifies the embedding space (model, width); a store refuses another space."""

    @property
    def dim(self) -> int:
        """The width of the vectors `embed` returns."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One L2-normalised float32 row per text: an array of shape `(len(texts), dim)`."""


class HashedNgramEmbedder:
    """Signed feature hashing of character n-grams (numpy only, vectorised over a batch)."""

    def __init__(self, dim: int = 256, ngrams: Sequence[int] = (3, 4, 5)) -> None:
        self._dim = dim
        self.ngrams = tuple(ngrams)

    @property
    def name(self) -> str:
        """`hashed-ngram-v1-<dim>-<n-grams>`: another width or n-gram set is another space."""
        return f"hashed-ngram-v1-{self._dim}-{'.'.join(map(str, self.ngrams))}"

    @property
    def dim(self) -> int:
        """The number of hash buckets, which is the vector width (256 by default)."""
        return self._dim

    def __repr__(self) -> str:
        return f"HashedNgramEmbedder(dim={self._dim}, ngrams={self.ngrams})"

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of shape `(len(texts), dim)`, the same in every process.

        Only the first 4096 characters of a text count; a text without words gets a zero vector.
        """
        import numpy as np

        # Chunks keep numpy's temporaries in cache (3x faster than one pass over a big batch).
        if len(texts) > _CHUNK:
            return np.concatenate(
                [self._embed(texts[i : i + _CHUNK]) for i in range(0, len(texts), _CHUNK)]
            )
        return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        n_texts = len(texts)
        if not n_texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        data = np.frombuffer(_words(texts), dtype=np.uint8).astype(np.uint64)
        zeros = np.concatenate(([0], np.cumsum(data == 0)))
        row = zeros[:-1]  # the text each byte belongs to: how many texts ended before it
        dim = np.uint64(self._dim)
        index_parts, sign_parts = [], []
        for n in self.ngrams:
            m = len(data) - n + 1
            if m <= 0:
                continue
            code = np.full(m, np.uint64(n), dtype=np.uint64)  # n-grams of <= 7 bytes are exact
            for i in range(n):
                code = (code << np.uint64(8)) | data[i : i + m]
            valid = zeros[n : n + m] == zeros[:m]
            h = code[valid] * np.uint64(0x9E3779B97F4A7C15)  # then mix the bits
            h ^= h >> np.uint64(29)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(32)
            index_parts.append(row[:m][valid] * self._dim + (h % dim).astype(np.int64))
            sign_parts.append(np.where(h >> np.uint64(63), -1.0, 1.0))
        if not index_parts:
            return np.zeros((n_texts, self._dim), dtype=np.float32)
        out = (
            np.bincount(
                np.concatenate(index_parts),
                weights=np.concatenate(sign_parts),
                minlength=n_texts * self._dim,
            )
            .reshape(n_texts, self._dim)
            .astype(np.float32)
        )
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


class SentenceTransformerEmbedder:
    """A local sentence-embedding model (downloads the model on first use)."""

    def __init__(self, model: str = "sentence-transformers/all-MiniLM-L6-v2") -> None:
        self.model_name = model
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise MissingDependency(
                    "sentence-transformers", "embeddings", "SentenceTransformerEmbedder"
                ) from None
            self._model = SentenceTransformer(self.model_name)
        return self._model

    @property
    def name(self) -> str:
        """`sentence-transformers:<model>`: the model names the embedding space."""
        return f"sentence-transformers:{self.model_name}"

    @property
    def dim(self) -> int:
        """The model's embedding width; loads the model (downloading it on first use)."""
        return int(self._load().get_sentence_embedding_dimension())

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of shape `(len(texts), dim)` from the local model (loaded on first use).

        Raises:
            MissingDependency: sentence-transformers is not installed
                (`pip install "agentnb[embeddings]"`).
        """
        import numpy as np

        vectors = self._load().encode(list(texts), normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


class OpenAIEmbedder:
    """The OpenAI embeddings API (`OPENAI_API_KEY`); `dimensions` shortens the vectors."""

    def __init__(self, model: str = "text-embedding-3-small", *, dimensions: int = 256) -> None:
        self.model_name = model
        self._dim = dimensions
        self._client: Any = None

    @property
    def name(self) -> str:
        """`openai:<model>:<dimensions>`: the model and the width name the embedding space."""
        return f"openai:{self.model_name}:{self._dim}"

    @property
    def dim(self) -> int:
        """The `dimensions` asked of the API (256 by default); makes no request."""
        return self._dim

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit vectors of shape `(len(texts), dim)`: one API request per call (empty texts are sent
        as a space, which the API accepts).

        Raises:
            MissingDependency: the openai package is not installed
                (`pip install "agentnb[openai]"`).
            openai.OpenAIError: `OPENAI_API_KEY` is not set, or the request failed.
        """
        import numpy as np

        if self._client is None:
            try:
                import openai
            except ImportError:
                raise MissingDependency("openai", "openai", "OpenAIEmbedder") from None
            self._client = openai.OpenAI()
        response = self._client.embeddings.create(
            model=self.model_name, input=[t or " " for t in texts], dimensions=self._dim
        )
        vectors = np.asarray([d.embedding for d in response.data], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors
