"""Thompson sampling over content variants (`choose_variant`): reads each candidate variant's Beta
posterior for a segment online (feature service content_variants_v1) and shows the variant whose
sampled success rate is highest. How the posterior is built: docs/content_variants.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FEATURE_SERVICE = "content_variants_v1"
VIEW = "content_variant_features"
# The segment whose posterior stands in when a variant has no row for the requested segment yet.
POOLED_SEGMENT = "all"


def variant_posteriors(store, variants: Sequence[str], segment: str,
                       prior: tuple[float, float] = (1.0, 1.0)) -> list[tuple[float, float]]:
    """(alpha, beta) per variant for `segment`, read online; a variant without a row for the
    segment falls back to the pooled segment, and one never shown to anybody to `prior`."""
    features = [f"{VIEW}:posterior_alpha", f"{VIEW}:posterior_beta"]

    def read(seg: str) -> list[tuple[float | None, float | None]]:
        rows = [{"variant_id": v, "segment": seg} for v in variants]
        values = store.get_online_features(features=features, entity_rows=rows).to_dict()
        return list(zip(values["posterior_alpha"], values["posterior_beta"]))

    own = read(segment)
    pooled = read(POOLED_SEGMENT) if segment != POOLED_SEGMENT and any(a is None for a, _ in own) else own
    return [(a, b) if a is not None and b is not None else
            (p if p[0] is not None and p[1] is not None else prior)
            for (a, b), p in zip(own, pooled)]


def choose_variant(store, variants: Sequence[str], segment: str, rng: np.random.Generator,
                   prior: tuple[float, float] = (1.0, 1.0)) -> str:
    """One Thompson-sampling draw: a success rate from each variant's Beta posterior, the variant
    with the highest draw wins. Over many requests each variant is shown with the probability that
    it is the best, so a clearly better variant takes most traffic while the others keep a share
    that shrinks as the evidence grows."""
    if not variants:
        raise ValueError("choose_variant needs at least one candidate variant")
    posteriors = variant_posteriors(store, variants, segment, prior)
    draws = [rng.beta(alpha, beta) for alpha, beta in posteriors]
    return variants[int(np.argmax(draws))]
