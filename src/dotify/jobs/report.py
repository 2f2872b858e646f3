"""``dotify report``: an HTML page of PNG figures and tables about the live model.

:func:`write_report` loads the published model and writes into ``out`` (default
``settings.reports_dir``): songs per country, the tuning heatmap (copied from ``dotify
tune``), country cosine similarity ordered by hierarchical clustering, a t-SNE map of
countries coloured by region, predicted preference on observed against unobserved pairs,
the top songs of a few countries with unit-normalised and with raw vectors, the longest
song and country vectors, and the validation EPR of every nightly run. Figures are drawn
with matplotlib's Agg canvas (no display needed); every text in the page is escaped.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from matplotlib.figure import Figure

from dotify import artifact as artifact_mod
from dotify.artifact import Artifact
from dotify.config import Settings
from dotify.countries import MARKETS, REGIONS
from dotify.query import maps, recommend

log = logging.getLogger("dotify")

DEFAULT_COUNTRIES = ("us", "co", "se", "jp", "de", "br", "tr")
_EPS = 1e-12


@dataclass
class Report:
    """Where the page and its figures went, and what could not be drawn (with why)."""

    page: Path
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_report(settings: Settings, out: Path | None = None,
                 countries: list[str] | None = None, n_top: int = 10) -> Report:
    """Write ``index.html`` and its PNGs into ``out``; raises ArtifactError without a model."""
    out = Path(out or settings.reports_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = artifact_mod.load_current(settings.models_dir)
    report = Report(out / "index.html")
    sections: list[dict[str, Any]] = []

    def figure(key: str, title: str, fig: Figure | None, note: str = "") -> None:
        path = out / f"{key}.png"
        if fig is not None:
            fig.savefig(path, dpi=100)
            report.figures.append(path)
        elif note:
            report.notes.append(f"{title}: {note}")
        sections.append({"title": title, "image": path.name if fig else None, "note": note})

    figure("songs_per_country", "Songs per country", songs_per_country(model))
    note = _copy_tuning(settings, out, report)
    sections.append({"title": "Grid search: validation EPR over alpha x lambda",
                     "image": None if note else "tuning_heatmap.png", "note": note})
    codes, tastes = recommend.taste_vectors(model)  # the similarity `dotify similar` prints
    names = [_name(c) for c in codes]
    figure("country_similarity", "Cosine similarity of countries (clustered order)",
           similarity_heatmap(tastes, names))
    figure("country_map", "t-SNE map of countries, coloured by region",
           tsne_map(tastes, [str(c) for c in codes]))
    figure("preferences", "Predicted preference: observed vs unobserved pairs",
           preference_histogram(model))
    runs = _runs(settings)
    figure("nightly_epr", "Validation EPR of the nightly runs", nightly_epr(runs),
           "" if any(r["val_epr"] is not None for r in runs) else "no nightly run trained yet")
    tables = top_song_tables(model, _pick(model, countries), n_top) + longest_vectors(model)
    page = _TEMPLATE.render(meta=model.meta, sections=sections, tables=tables,
                            runs=runs, notes=report.notes)
    report.page.write_text(page, encoding="utf-8")
    log.info("report written to %s", report.page)
    return report


def _name(code: object) -> str:
    market = MARKETS.get(str(code))
    return market.name if market else str(code)


def _axes(width: float = 7.0, height: float = 4.5) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def songs_per_country(model: Artifact) -> Figure | None:
    if model.charted is None:
        return None
    counts = np.diff(model.charted.indptr)
    fig, ax = _axes()
    ax.hist(counts, bins=min(30, max(5, len(counts) // 2)), color="#1db954")
    ax.set(xlabel="distinct songs charted", ylabel="countries",
           title=f"Songs per country ({len(counts)} countries)")
    return fig


def _copy_tuning(settings: Settings, out: Path, report: Report) -> str:
    """Copy ``dotify tune``'s heatmap next to the page; a note when there is none."""
    source = settings.reports_dir / "tuning_heatmap.png"
    if not source.exists():
        report.notes.append("no grid search yet: run `dotify tune`")
        return "no grid search yet: run `dotify tune` to draw it"
    target = out / "tuning_heatmap.png"
    if source.resolve() != target.resolve():
        shutil.copyfile(source, target)
    report.figures.append(target)
    return ""


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, _EPS)


def similarity_heatmap(vectors: np.ndarray, names: list[str]) -> Figure | None:
    if len(vectors) < 2:
        return None
    similarity = maps.cosine_matrix(vectors)
    order = maps.cluster_order(similarity)  # the web map's order too
    similarity = similarity[np.ix_(order, order)]
    size = max(6.0, 0.16 * len(order) + 2)
    fig, ax = _axes(size + 1, size)
    off = similarity[~np.eye(len(order), dtype=bool)]
    # the colour range follows the data: IMF country vectors often share one direction
    image = ax.imshow(similarity, cmap="viridis", vmin=float(np.percentile(off, 2)),
                      vmax=float(off.max()))
    labels = [names[i] for i in order]
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    fig.colorbar(image, ax=ax, shrink=0.7, label="cosine similarity")
    return fig


def tsne_map(vectors: np.ndarray, codes: list[str]) -> Figure | None:
    if len(vectors) < 4:
        return None
    xy = maps.tsne_layout(vectors)  # the same layout as the web map's
    regions = [MARKETS[c].region if c in MARKETS else "Other" for c in codes]
    palette = dict(zip((*REGIONS, "Other"), _colours(len(REGIONS) + 1), strict=True))
    fig, ax = _axes(9, 7)
    for region in dict.fromkeys(regions):
        mask = np.array([r == region for r in regions])
        ax.scatter(xy[mask, 0], xy[mask, 1], s=30, color=palette[region], label=region)
    for (x, y), code in zip(xy, codes, strict=True):
        ax.annotate(code.upper(), (x, y), fontsize=7, xytext=(3, 2), textcoords="offset points")
    ax.legend(fontsize=7, loc="best")
    ax.set(title="Countries by t-SNE of their tastes (centred chart profiles)",
           xticks=[], yticks=[])
    return fig


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def preference_histogram(model: Artifact, sample: int = 200_000,
                         random_state: int = 0) -> Figure | None:
    """Histogram of the model's scores on charted (observed) and uncharted pairs."""
    if model.charted is None:
        return None
    scores = np.asarray(model.model.score(), dtype=np.float32)
    observed = model.charted.toarray().astype(bool)
    rng = np.random.default_rng(random_state)
    seen, unseen = scores[observed], scores[~observed]
    if len(unseen) > sample:
        unseen = rng.choice(unseen, sample, replace=False)
    fig, ax = _axes()
    bins = np.linspace(float(scores.min()), float(scores.max()), 60)
    ax.hist(unseen, bins=bins, density=True, alpha=0.6, label=f"unobserved ({len(unseen):,})")
    ax.hist(seen, bins=bins, density=True, alpha=0.6, label=f"observed ({len(seen):,})")
    ax.set(xlabel="predicted preference", ylabel="density",
           title="Scores on observed vs unobserved (country, song) pairs")
    ax.legend()
    return fig


def nightly_epr(runs: list[dict[str, Any]]) -> Figure | None:
    points = [(r["started_at"], r["val_epr"], r["status"]) for r in runs
              if r["val_epr"] is not None]
    if not points:
        return None
    fig, ax = _axes(8, 4)
    times = [p[0] for p in points]
    ax.plot(times, [p[1] for p in points], color="#888", lw=1)
    for status, colour in (("published", "#1db954"), ("kept", "#d62728")):
        chosen = [p for p in points if p[2] == status]
        ax.scatter([p[0] for p in chosen], [p[1] for p in chosen], color=colour, label=status)
    ax.set(xlabel="run started (UTC)", ylabel="validation EPR (lower is better)",
           title=f"Nightly runs ({len(points)} trained)")
    ax.legend()
    fig.autofmt_xdate()
    return fig


def _pick(model: Artifact, countries: list[str] | None) -> list[str]:
    present = [str(c) for c in model.countries]
    wanted = countries or [c for c in DEFAULT_COUNTRIES if c in present][:3] or present[:3]
    return [c for c in wanted if c in present]


def _ranked(scores: np.ndarray, streams: np.ndarray, n: int) -> np.ndarray:
    """Indices of the top ``n`` scores; ties broken by streams (larger first)."""
    order = np.lexsort((-streams, -np.round(scores, 6)))
    return order[:n]


def top_song_tables(model: Artifact, countries: list[str], n: int) -> list[dict[str, Any]]:
    """Per country, its top ``n`` songs by raw dot product and by cosine (unit vectors)."""
    songs, codes = model.songs, [str(c) for c in model.countries]
    song_unit = unit_rows(model.song_vectors)
    tables = []
    for code in countries:
        vector = model.country_vectors[codes.index(code)]
        columns = {"raw": model.song_vectors @ vector,
                   "normalised": song_unit @ (vector / max(np.linalg.norm(vector), _EPS))}
        ranked = {k: _ranked(v, songs.streams, n) for k, v in columns.items()}
        rows = [[rank + 1, *(f"{songs.titles[ranked[k][rank]]} — {songs.artists[ranked[k][rank]]}"
                             for k in ("normalised", "raw"))]
                for rank in range(min(n, len(songs)))]
        tables.append({"title": f"Top songs of {_name(code)}: normalised vs raw vectors",
                       "header": ["#", "normalised (cosine)", "raw (dot product)"],
                       "rows": rows})
    return tables


def longest_vectors(model: Artifact, n: int = 10) -> list[dict[str, Any]]:
    song_norms = np.linalg.norm(model.song_vectors, axis=1)
    country_norms = np.linalg.norm(model.country_vectors, axis=1)
    songs = model.songs
    song_rows = [[songs.titles[i], songs.artists[i], f"{song_norms[i]:.3f}"]
                 for i in np.argsort(-song_norms)[:n]]
    country_rows = [[_name(model.countries[i]), f"{country_norms[i]:.3f}"]
                    for i in np.argsort(-country_norms)[:n]]
    return [{"title": "Longest song vectors", "header": ["title", "artists", "length"],
             "rows": song_rows},
            {"title": "Longest country vectors", "header": ["country", "length"],
             "rows": country_rows}]


def _runs(settings: Settings) -> list[dict[str, Any]]:
    from dotify.store.engine import opened
    from dotify.store.runs import runs

    with opened(settings) as engine:
        return runs(engine)


_TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>dotify report: model {{ meta.version }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
img { max-width: 100%; border: 1px solid #ddd; } table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; font-size: 90%; text-align: left; }
.note { color: #a60; }
</style></head><body>
<h1>dotify report: model {{ meta.version }}</h1>
<p>Kind {{ meta.kind }}; {{ meta.n_countries }} countries x {{ meta.n_songs }} songs;
charts {{ meta.first_date }} to {{ meta.last_date }};
validation EPR {{ "%.4f"|format(meta.metrics.val_epr) if meta.metrics and meta.metrics.val_epr
is not none else "n/a" }}; params {{ meta.params }}.</p>
{% for s in sections %}<section><h2>{{ s.title }}</h2>
{% if s.image %}<img src="{{ s.image }}" alt="{{ s.title }}">{% endif %}
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}</section>
{% endfor %}
{% for t in tables %}<section><h2>{{ t.title }}</h2><table>
<tr>{% for h in t.header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in t.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table></section>{% endfor %}
<section><h2>Nightly runs</h2><table>
<tr><th>#</th><th>started</th><th>status</th><th>rows</th><th>val EPR</th><th>version</th></tr>
{% for r in runs %}<tr><td>{{ r.id }}</td><td>{{ r.started_at }}</td><td>{{ r.status }}</td>
<td>{{ r.rows }}</td><td>{{ "%.4f"|format(r.val_epr) if r.val_epr is not none else "" }}</td>
<td>{{ r.version }}</td></tr>{% endfor %}
</table></section>
</body></html>
""")
