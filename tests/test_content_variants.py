"""Content-variant feedback for bandit tests: the generator's variants carry their true lifts, an
export without variant columns loads, the feature table is point-in-time correct against an
independent count, and Thompson sampling on a real store picks the clearly better variant."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from dagster_project.contracts import get_contract
from dagster_project.feast_ext.feature_tables import feature_table_path
from dagster_project.ingestion import ingest_entity
from dagster_project.sample_data.content_variants import content_variants, shown_variants

from conftest import duck, make_settings, use_settings_env

VIEW = "content_variant_features"
POSTERIOR_REFS = [f"{VIEW}:{f}" for f in ("impressions", "successes", "posterior_alpha", "posterior_beta")]


# ---------------------------------------------------------------- fast tier: no pipeline

def test_variants_drawn_given_the_outcome_succeed_at_their_lifts():
    """Outcomes first, variants drawn after: each variant is shown about equally often and
    succeeds at about (the piece's success share) x (its lift)."""
    rng = np.random.default_rng(1)
    variants = content_variants(rng, ["P1", "P2"], (0.7, 1.0, 1.3), "copy")
    assert variants.ids[:3] == ["copy-P1-A", "copy-P1-B", "copy-P1-C"] and variants.per_piece == 3
    content = rng.integers(0, 2, 300_000)
    success = rng.random(len(content)) < np.where(content == 0, 0.2, 0.4)
    shown = shown_variants(rng, variants, content, success)
    impressions = np.bincount(shown, minlength=6)
    rates = np.bincount(shown, weights=success, minlength=6) / impressions
    share = np.where(np.arange(6) < 3, 0.2, 0.4)
    np.testing.assert_allclose(impressions / impressions.sum(), 1 / 6, atol=0.01)
    np.testing.assert_allclose(rates, share * variants.lifts, rtol=0.05)


def test_no_lifts_no_variants():
    rng = np.random.default_rng(1)
    variants = content_variants(rng, ["P1"], (), "copy")
    assert variants.ids == [] and (shown_variants(rng, variants, np.zeros(5, np.int64), np.ones(5, bool)) == -1).all()


def test_an_export_without_the_variant_column_loads_without_variants(tmp_path):
    landing = tmp_path / "landing"
    path = landing / "crm" / "email_events" / "2026-10-27.csv"
    path.parent.mkdir(parents=True)
    path.write_text("email_event_id,crm_customer_id,campaign_id,event_type,url,occurred_at\n"
                    "E1,C1,NL-1,send,,2026-10-27T08:00:00Z\n")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        result = ingest_entity(conn, get_contract("crm", "email_events"), landing)
        assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
        assert conn.execute("select email_event_id, content_variant_id from raw.crm__email_events").fetchall() == [
            ("E1", None)]


def _variant_rows(rng: np.random.Generator) -> pd.DataFrame:
    """A shop unlike the sample: two subject lines per campaign, tens of thousands of sends."""
    rows = []
    for campaign in range(20):
        for letter in "AB":
            impressions, successes = 0, 0
            for day in pd.date_range("2026-03-01", periods=4, freq="D"):
                for segment in ("new", "returning", "all"):
                    impressions += int(rng.integers(5_000, 9_000))
                    successes += int(rng.integers(500, 2_000))
                    rows.append(dict(
                        variant_id=f"subj-C{campaign}-{letter}", segment=segment, feature_date=day.date(),
                        event_timestamp=day + pd.Timedelta(days=1), content_kind="email_subject_line",
                        content_id=f"C{campaign}", impressions=impressions, clicks=successes // 5,
                        add_to_carts=successes // 20, conversions=successes // 50, successes=successes,
                        failures=impressions - successes, posterior_alpha=1.0 + successes,
                        posterior_beta=1.0 + impressions - successes,
                        posterior_mean=(1.0 + successes) / (2.0 + impressions)))
    return pd.DataFrame(rows)


def test_the_gate_passes_another_shop_and_blocks_broken_counts(tmp_path):
    from expectations.gate import run_gate

    settings = make_settings(tmp_path / "data")
    path = feature_table_path(settings, VIEW)
    path.parent.mkdir(parents=True)
    rows = _variant_rows(np.random.default_rng(5))
    rows.to_parquet(path, index=False)
    outcome = run_gate(settings, VIEW)
    assert outcome.passed, [f["message"] for f in outcome.failures]
    broken = rows.assign(successes=rows.successes.where(rows.index != 3, rows.impressions + 1),
                         posterior_mean=rows.posterior_mean.where(rows.index != 5, 1.2),
                         posterior_beta=rows.posterior_beta.where(rows.index != 6, -1.0))
    pd.concat([broken, broken.iloc[[2]]]).reset_index(drop=True).to_parquet(path, index=False)
    outcome = run_gate(settings, VIEW)
    assert not outcome.passed
    failed = {(f["rule"], f["column"]) for f in outcome.failures if f["gate"] == "invariant"}
    assert {("at_least", None), ("rate", "posterior_mean"), ("non_negative", "posterior_beta")} <= failed
    assert "unique" in {rule for rule, _ in failed}


# ---------------------------------------------------------------- on the session's pipeline run

slow = pytest.mark.slow


def _features(settings) -> pd.DataFrame:
    return duck(f"select * from read_parquet('{feature_table_path(settings, VIEW)}')").df()


@slow
def test_the_feature_table_counts_the_impressions_of_the_mart(pipeline_settings):
    features = _features(pipeline_settings)
    assert len(features) > 0 and set(features["segment"]) == {"new", "returning", "all"}
    assert set(features["content_kind"]) == {"product_page_copy", "email_subject_line"}
    latest = features[features["segment"] == "all"].sort_values("event_timestamp").groupby("variant_id").last()
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        mart = conn.execute("select variant_id, count(*), count(succeeded_at) from marts.content_impressions "
                            "group by all").df().set_index("variant_id")
    assert latest["impressions"].to_dict() == mart.iloc[:, 0].to_dict()
    assert latest["successes"].to_dict() == mart.iloc[:, 1].to_dict()
    assert ((latest["posterior_alpha"] - latest["successes"]) == 1.0).all()  # the default uniform prior
    assert ((latest["posterior_beta"] - latest["failures"]) == 1.0).all()


@slow
def test_a_training_row_does_not_see_a_later_impression(pipeline_settings, monkeypatch):
    """Label times inside days with impressions: the historical features count exactly the
    impressions of earlier days (an independent count over the mart), never one of the label's
    own day or later."""
    from dagster_project.feast_ext.repo import get_feature_store

    use_settings_env(monkeypatch, pipeline_settings)
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as conn:
        impressions = conn.execute("select variant_id, impressed_at from marts.content_impressions").df()
    busiest = impressions["variant_id"].value_counts().index[:3]
    rows = []
    for variant in busiest:
        times = impressions.loc[impressions["variant_id"] == variant, "impressed_at"].sort_values()
        for at in times.iloc[[len(times) // 3, 2 * len(times) // 3, -1]]:
            # a moment after this impression, on its own day: the impression must not be seen yet
            rows.append({"variant_id": variant, "segment": "all",
                         "event_timestamp": pd.Timestamp(at, tz="UTC") + timedelta(seconds=1)})
    entity_df = pd.DataFrame(rows)
    store = get_feature_store(pipeline_settings)
    training = store.get_historical_features(entity_df=entity_df, features=[f"{VIEW}:impressions"]).to_df()
    assert len(training) == len(entity_df)
    for row in training.itertuples():
        label_day = row.event_timestamp.tz_convert("UTC").normalize().tz_localize(None)
        of_variant = impressions[impressions["variant_id"] == row.variant_id]
        expected = int((of_variant["impressed_at"] < label_day).sum())
        seen = 0 if pd.isna(row.impressions) else int(row.impressions)
        assert seen == expected, (row.variant_id, row.event_timestamp, seen, expected)
        assert seen < int((of_variant["impressed_at"] <= row.event_timestamp.tz_localize(None)).sum())


@pytest.mark.parametrize("online_store", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_thompson_sampling_picks_the_clearly_better_variant(online_store, request, tmp_path, monkeypatch):
    """On a real online store (another shop's table published, then counts pushed): two variants
    with clearly different posteriors, one only pooled ('all'), one never shown. The better one
    wins most draws; the unknown one is explored."""
    from feast.data_source import PushMode

    from dagster_project.feast_ext.publish import materialize_view
    from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
    from dagster_project.serving.bandit import choose_variant, variant_posteriors

    redis = {"online_store": "redis", "redis_url": request.getfixturevalue("redis_url")} if online_store == "redis" else {}
    settings = make_settings(tmp_path / "data", feast_project=f"bandit_{uuid.uuid4().hex[:8]}", **redis)
    use_settings_env(monkeypatch, settings)
    request.addfinalizer(lambda: get_feature_store(settings).teardown())
    path = feature_table_path(settings, VIEW)
    path.parent.mkdir(parents=True)
    _variant_rows(np.random.default_rng(5)).to_parquet(path, index=False)
    apply_feature_repo(settings)
    materialize_view(settings, VIEW)
    store = get_feature_store(settings)
    published = store.get_online_features(features=POSTERIOR_REFS,
                                          entity_rows=[{"variant_id": "subj-C0-A", "segment": "all"}]).to_dict()
    assert published["impressions"][0] > 0
    now = pd.Timestamp(datetime.now(timezone.utc))

    def counts(variant: str, segment: str, impressions: int, successes: int) -> dict:
        return dict(variant_id=variant, segment=segment, event_timestamp=now, content_kind="product_page_copy",
                    content_id="SKU-TEST", impressions=impressions, clicks=0, add_to_carts=successes, conversions=0,
                    successes=successes, failures=impressions - successes, posterior_alpha=1.0 + successes,
                    posterior_beta=1.0 + impressions - successes,
                    posterior_mean=(1.0 + successes) / (2.0 + impressions))

    good, poor, pooled_only, unseen = (f"copy-SKU-TEST-{x}" for x in "ABCD")
    store.push(f"{VIEW}_push", pd.DataFrame([counts(good, "returning", 400, 120), counts(poor, "returning", 400, 40),
                                             counts(pooled_only, "all", 400, 60)]), to=PushMode.ONLINE)
    assert variant_posteriors(store, [good, poor, pooled_only, unseen], "returning") == [
        (121.0, 281.0), (41.0, 361.0), (61.0, 341.0), (1.0, 1.0)]
    rng = np.random.default_rng(3)
    picks = pd.Series([choose_variant(store, [good, poor], "returning", rng) for _ in range(300)]).value_counts()
    assert picks.get(good, 0) >= 0.95 * 300
    # an unseen variant is explored: its uniform prior beats a rate near 30 % about 70 % of the time
    picks = pd.Series([choose_variant(store, [good, unseen], "returning", rng) for _ in range(300)]).value_counts()
    assert 0.55 * 300 < picks.get(unseen, 0) < 0.85 * 300


@slow
def test_the_generated_shop_s_variants_are_served_online(pipeline_settings, monkeypatch):
    """The pipeline published the view: the latest row of a busy variant is what the store serves."""
    from dagster_project.feast_ext.repo import get_feature_store

    use_settings_env(monkeypatch, pipeline_settings)
    features = _features(pipeline_settings)
    latest = features.sort_values("event_timestamp").groupby(["variant_id", "segment"]).last().reset_index()
    busy = latest.sort_values(["impressions", "variant_id"], ascending=[False, True]).iloc[0]
    online = get_feature_store(pipeline_settings).get_online_features(
        features=POSTERIOR_REFS, entity_rows=[{"variant_id": busy["variant_id"], "segment": busy["segment"]}]).to_dict()
    assert online["impressions"] == [busy["impressions"]]
    assert online["posterior_alpha"] == [busy["posterior_alpha"]]
