"""The maps of taste: country similarity in cluster order, and a 2-D t-SNE layout.

Pure functions over the country vectors, shared by the web map (computed once per model
version) and the report, so both draw the same order and layout.
"""

from __future__ import annotations

import numpy as np

from dotify.countries import MARKETS

TSNE_SEED = 7


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of the rows of ``vectors`` (n, f) -> (n, n) float64, zero rows -> 0."""
    v = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    unit = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def cluster_order(similarity: np.ndarray) -> np.ndarray:
    """Row order that puts similar countries next to each other (average-linkage leaf order)."""
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    n = len(similarity)
    if n < 3:
        return np.arange(n)
    distance = np.clip(1.0 - similarity, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    condensed = squareform((distance + distance.T) / 2, checks=False)
    tree = linkage(condensed, method="average")
    return leaves_list(optimal_leaf_ordering(tree, condensed))


def tsne_layout(vectors: np.ndarray, seed: int = TSNE_SEED) -> np.ndarray:
    """A 2-D layout (n, 2) of the rows by t-SNE on cosine distance, scaled into [0, 1]."""
    n = len(vectors)
    if n < 4:  # t-SNE needs perplexity < n; place a handful of points on a line
        xy = np.column_stack([np.linspace(0.0, 1.0, n), np.full(n, 0.5)])
        return xy if n > 1 else np.full((n, 2), 0.5)
    from sklearn.manifold import TSNE

    perplexity = float(min(10, max(2, (n - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, metric="cosine", init="random",
              random_state=seed, max_iter=500).fit_transform(np.asarray(vectors, np.float64))
    span = np.ptp(xy, axis=0)
    return (xy - xy.min(axis=0)) / np.where(span > 0, span, 1.0)


def taste_map(codes: np.ndarray, vectors: np.ndarray) -> dict:
    """The JSON body of ``GET /api/map`` (without the version) for these countries."""
    similarity = cosine_matrix(vectors)
    order = cluster_order(similarity)
    xy = tsne_layout(vectors)[order]
    countries = [describe(str(codes[i])) for i in order]
    return {
        "countries": countries,
        "similarity": np.round(similarity[np.ix_(order, order)], 4).tolist(),
        "xy": np.round(xy, 4).tolist(),
        "regions": list(dict.fromkeys(c["region"] for c in countries)),
    }


def describe(code: str) -> dict:
    market = MARKETS.get(code)
    return {"code": code, "name": market.name if market else code.upper(),
            "region": market.region if market else "Other"}
