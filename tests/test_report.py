"""The report: real PNG figures from a real fitted model, escaped HTML, nightly EPR history."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from dotify import artifact
from dotify.config import Settings
from dotify.errors import ArtifactError
from dotify.jobs.report import write_report
from dotify.learn.ratings import Ratings, Songs
from dotify.models import make_model
from dotify.query.maps import cluster_order, cosine_matrix
from dotify.store.engine import engine_for
from dotify.store.schema import nightly_runs

PNG = b"\x89PNG\r\n\x1a\n"
BLOCKS = (("co", "mx", "ar", "cl", "pe"), ("se", "no", "dk", "fi"), ("jp", "kr", "tw", "hk"))


def _planted(n_songs: int = 240) -> Ratings:
    """Three blocks of countries; each block charts its own third of the songs."""
    rng = np.random.default_rng(7)
    codes = np.array([c for block in BLOCKS for c in block])
    rows, cols, vals = [], [], []
    for b, block in enumerate(BLOCKS):
        own = np.arange(b * n_songs // 3, (b + 1) * n_songs // 3)
        for code in block:
            picked = rng.choice(own, size=len(own) * 3 // 4, replace=False)
            rows += [int(np.flatnonzero(codes == code)[0])] * len(picked)
            cols += picked.tolist()
            vals += rng.uniform(1, 8, len(picked)).tolist()
    titles = np.array([f"<script>alert('{i}')</script> & Co" for i in range(n_songs)])
    songs = Songs(keys=np.array([f"k{i}" for i in range(n_songs)]), titles=titles,
                  artists=np.array([f"Artist {i % 17}" for i in range(n_songs)]),
                  urls=np.array([""] * n_songs),
                  streams=np.arange(n_songs, 0, -1).astype(np.int64))
    return Ratings.from_triples(codes, songs, np.array(rows), np.array(cols), np.array(vals))


@pytest.fixture
def published(settings: Settings) -> artifact.Artifact:
    ratings = _planted()
    model = make_model("imf", factors=8, iterations=8, alpha=2.0, regularization=0.1)
    model.fit(ratings)
    saved = artifact.save(model, ratings.countries, ratings.songs, settings.models_dir,
                          meta={"metrics": {"val_epr": 0.12}, "n_countries": 13,
                                "n_songs": 240}, charted=ratings.matrix)
    artifact.publish(settings.models_dir, saved.version)
    return saved


def _runs(settings: Settings, epr: list[float | None]) -> None:
    engine = engine_for(settings)
    start = datetime(2026, 11, 1, 3, tzinfo=UTC)
    with engine.begin() as conn:
        for day, value in enumerate(epr):
            conn.execute(nightly_runs.insert().values(
                started_at=start + timedelta(days=day), finished_at=start + timedelta(days=day),
                status="published" if value != 0.3 else "kept", rows=100, val_epr=value,
                details=json.dumps({})))
    engine.dispose()


def _heatmap(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(2, 2))
    fig.subplots().imshow(np.eye(4))
    fig.savefig(path)


@pytest.mark.slow  # over a second: left to make test, out of make check
def test_report_writes_valid_pngs_and_escaped_html(settings: Settings, published) -> None:
    _runs(settings, [0.15, 0.12, 0.3, None])
    _heatmap(settings.reports_dir / "tuning_heatmap.png")
    out = settings.home / "out"
    report = write_report(settings, out)
    names = sorted(p.name for p in report.figures)
    assert names == ["country_map.png", "country_similarity.png", "nightly_epr.png",
                     "preferences.png", "songs_per_country.png", "tuning_heatmap.png"]
    for path in report.figures:
        assert path.read_bytes()[:8] == PNG
        pixels = matplotlib.image.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.std() > 0
    page = report.page.read_text()
    assert re.search(r"&lt;script&gt;alert\(&#39;\d+&#39;\)&lt;/script&gt; &amp; Co", page)
    assert "<script>" not in page
    for name in names:
        assert f'src="{name}"' in page
    assert "Top songs of Colombia: normalised vs raw vectors" in page
    assert "Longest country vectors" in page and report.notes == []


@pytest.mark.slow
def test_report_says_what_is_missing(settings: Settings, published) -> None:
    report = write_report(settings)
    assert report.page == settings.reports_dir / "index.html"
    assert "no grid search yet: run `dotify tune`" in report.notes
    assert "Validation EPR of the nightly runs: no nightly run trained yet" in report.notes
    assert not (settings.reports_dir / "nightly_epr.png").exists()


def test_report_without_a_model_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(ArtifactError, match="no published model"):
        write_report(settings)


def test_cluster_order_groups_the_blocks() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    vectors = np.vstack([centres[i % 3] + rng.normal(0, 0.3, 3) for i in range(12)])
    order = cluster_order(cosine_matrix(vectors))
    blocks = [i % 3 for i in order]
    assert sorted(order.tolist()) == list(range(12))
    assert sum(a != b for a, b in zip(blocks, blocks[1:], strict=False)) == 2  # contiguous
