"""Content experiments of the demo shop (ContentVariants): a few copies of every product page and
a few subject lines of every newsletter, each with its own true success rate, drawn from an RNG
of their own after the outcomes, so every other generated column keeps its values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContentVariants:
    """`lifts[k]` is the relative success rate of variant k of one piece of content (the
    variants of each piece are a permutation of the world's lifts: variant A is not always best)."""

    ids: list[str]
    lifts: np.ndarray  # per variant id
    per_piece: int  # variants of each piece of content (0: the world runs no content experiments)


def content_variants(rng: np.random.Generator, content_ids: list[str], lifts: tuple[float, ...],
                     prefix: str) -> ContentVariants:
    """Variants A, B, C, ... of every piece of content: `<prefix>-<content id>-<letter>`."""
    k = len(lifts)
    if k == 0:
        return ContentVariants(ids=[], lifts=np.zeros(0), per_piece=0)
    base = np.asarray(lifts, dtype=np.float64) / np.mean(lifts)
    order = np.argsort(rng.random((len(content_ids), k)), axis=1)
    ids = [f"{prefix}-{content}-{chr(ord('A') + v)}" for content in content_ids for v in range(k)]
    return ContentVariants(ids=ids, lifts=base[order].ravel(), per_piece=k)


def shown_variants(rng: np.random.Generator, variants: ContentVariants, content: np.ndarray,
                   success: np.ndarray) -> np.ndarray:
    """The variant (index into variants.ids) shown at each impression of `content` (index of the
    piece of content), given whether the impression succeeded; -1 where content < 0.

    Bayes' rule: with lifts m_v averaging 1 and the piece's observed success share p,
    P(v | success) is proportional to m_v and P(v | failure) to 1 - p * m_v; so each variant is
    shown about equally often and succeeds at about p * m_v, and the world's totals do not move."""
    shown = np.full(len(content), -1, dtype=np.int64)
    k = variants.per_piece
    if k == 0 or not len(content):
        return shown
    has = np.flatnonzero(content >= 0)
    piece, won = content[has], success[has]
    n_pieces = len(variants.lifts) // k
    impressions = np.bincount(piece, minlength=n_pieces)
    share = np.bincount(piece, weights=won, minlength=n_pieces) / np.maximum(impressions, 1)
    lifts = variants.lifts.reshape(n_pieces, k)
    # the best variant of a piece that almost always succeeds cannot succeed more than always
    share = np.minimum(share, 0.95 / lifts.max(axis=1))
    weights = np.where(won[:, None], lifts[piece], 1.0 - share[piece, None] * lifts[piece])
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(len(piece)) * cumulative[:, -1]
    shown[has] = piece * k + np.minimum((cumulative < draw[:, None]).sum(axis=1), k - 1)
    return shown
