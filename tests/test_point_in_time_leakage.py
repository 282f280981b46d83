"""Point-in-time leakage, per feature view of a real build (so every view a consumer module adds
is covered): a training row before a feature value changes sees the old value, one at or after
the change sees the new one; and a later event appended to a copy of the feature table changes
nothing for the earlier training row. Real Parquet, real Feast registry, the project's offline
store."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from dagster_project.feast_ext.offline_store import training_set
from dagster_project.feast_ext.repo import apply_feature_repo, get_feature_store
from dagster_project.settings import Settings
from conftest import duck

ENTITIES_PER_VIEW = 5


def _batch_views(settings: Settings) -> list:
    views = [v for v in get_feature_store(settings).list_feature_views() if v.batch_source is not None]
    assert views, "the build's registry has no feature view"
    return sorted(views, key=lambda v: v.name)


@pytest.fixture
def copied_build(pipeline_settings, tmp_path) -> Settings:
    """The shared build's feature tables copied to a private data dir, the feature repo applied
    there (the shared build is read-only)."""
    settings = Settings.for_data_dir(tmp_path / "data", online_store="sqlite",
                                     feast_project=f"leak_{uuid.uuid4().hex[:8]}")
    shutil.copytree(pipeline_settings.features_dir, settings.features_dir)
    apply_feature_repo(settings)
    return settings


def _keys(view) -> list[str]:
    return [c.name for c in view.entity_columns]


def _features(view) -> list[str]:
    return [f.name for f in view.features]


def _read(settings, view, entity: pd.DataFrame) -> pd.DataFrame:
    refs = [f"{view.name}:{f}" for f in _features(view)]
    return training_set(settings, entity, refs).to_df()


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _same(a, b) -> bool:
    if _is_sequence(a) or _is_sequence(b):
        return _is_sequence(a) and _is_sequence(b) and [*a] == [*b]
    missing_a, missing_b = pd.isna(a), pd.isna(b)
    if missing_a or missing_b:  # a null equals only a null (pd.NA == x is NA, not False)
        return bool(missing_a and missing_b)
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


def _changes(path: str, view) -> pd.DataFrame:
    """Rows of the view's table where some feature differs from the entity's previous row, with
    the previous row's values (`prev__<feature>`) and time, within the view's TTL; the previous
    row at least a second before and the next one more than a second after (the probes read a
    second either side)."""
    keys, features, ts = _keys(view), _features(view), view.batch_source.timestamp_field
    part, order = ", ".join(keys), f"cast({ts} as timestamp)"
    prev = ", ".join(f"lag({f}) over w as prev__{f}" for f in features)
    differs = " or ".join(f"{f} is distinct from prev__{f}" for f in features)
    ttl = view.ttl.total_seconds() if view.ttl else 10 ** 9
    return duck(f"""
        with t as (select *, {order} as __t, lag({order}) over w as __prev_t, lead({order}) over w as __next_t, {prev}
                   from read_parquet('{path}') window w as (partition by {part} order by {order}))
        select * from t where __prev_t is not null and __prev_t <= __t - interval 1 second and ({differs})
          and (__next_t is null or __next_t > __t + interval 1 second)
          and epoch(__t) - epoch(__prev_t) < {ttl}
        order by __t desc, {part} limit {ENTITIES_PER_VIEW}""").df()


def test_a_training_row_sees_the_value_known_at_its_time_for_every_view(copied_build):
    checked = []
    for view in _batch_views(copied_build):
        changes = _changes(view.batch_source.path, view)
        if changes.empty:
            continue
        keys, features = _keys(view), _features(view)
        t2 = pd.to_datetime(changes["__t"], utc=True)
        rows = pd.concat([changes[keys].assign(event_timestamp=t2 - timedelta(seconds=1), expect="prev__"),
                          changes[keys].assign(event_timestamp=t2, expect=""),
                          changes[keys].assign(event_timestamp=t2 + timedelta(seconds=1), expect="")],
                         ignore_index=True)
        got = _read(copied_build, view, rows.drop(columns="expect"))
        expected = pd.concat([changes, changes, changes], ignore_index=True)
        assert len(got) == len(rows)
        for i, expect in enumerate(rows["expect"]):
            for feature in features:
                assert _same(got.loc[i, feature], expected.loc[i, f"{expect}{feature}"]), (
                    view.name, dict(rows.loc[i, keys]), rows.loc[i, "event_timestamp"], feature,
                    got.loc[i, feature], expected.loc[i, f"{expect}{feature}"])
        checked.append(view.name)
    # the views of the build that change over time are all checked (not vacuous)
    assert {"customer_features", "product_features"} <= set(checked), checked


def _later_event(row: pd.Series, features: list[str], table: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """The entity's row one day later with every feature changed where the table allows it (so
    any leak shows), and the features that did change."""
    later, changed = row.copy(), []
    for feature in features:
        kind, value = table[feature].dtype, row[feature]
        if pd.api.types.is_bool_dtype(kind):
            later[feature] = not bool(value) if not pd.isna(value) else True
        elif pd.api.types.is_numeric_dtype(kind):
            later[feature] = (0 if pd.isna(value) else value) + 1000
        else:  # strings, dates, lists: another row's value of the same column
            other = next((v for v in table[feature] if not _same(v, value)), None)
            if other is None:
                continue
            later[feature] = other
        changed.append(feature)
    return later, changed


def test_a_later_event_does_not_reach_an_earlier_training_row(copied_build):
    checked = []
    for view in _batch_views(copied_build):
        path, ts = view.batch_source.path, view.batch_source.timestamp_field
        table = pd.read_parquet(path)
        if table.empty:
            continue
        keys, features = _keys(view), _features(view)
        latest = table.sort_values(ts).iloc[-1]
        t = pd.Timestamp(latest[ts])
        t = t.tz_localize("UTC") if t.tzinfo is None else t
        entity = pd.DataFrame([{**{k: latest[k] for k in keys}, "event_timestamp": t + timedelta(minutes=1)}])
        before = _read(copied_build, view, entity)

        later, changed = _later_event(latest, features, table)
        later[ts] = latest[ts] + timedelta(days=1)
        pd.concat([table, later.to_frame().T.astype(table.dtypes.to_dict())], ignore_index=True).to_parquet(path)

        after = _read(copied_build, view, entity)
        for feature in features:
            assert _same(after.loc[0, feature], before.loc[0, feature]), (view.name, feature)
            assert _same(after.loc[0, feature], latest[feature]), (view.name, feature)
        at_event = _read(copied_build, view, entity.assign(event_timestamp=t + timedelta(days=1)))
        assert changed, view.name
        for feature in changed:  # the appended event is seen from its own time on: the test can fail
            assert _same(at_event.loc[0, feature], later[feature]), (view.name, feature)
        checked.append(view.name)
    assert {"customer_features", "product_features", "cart_features"} <= set(checked), checked
