"""Training sets of a service tagged requires_consent can leave out the label rows whose customer
had withdrawn that consent at the label time (point in time, on the real offline store over
Parquet feature tables): a row before an opt-out is kept, one during it is left out, one after
the opt-in again is kept; never recorded follows the setting."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pandas as pd

from test_serving_consent import OPTED_IN, OPTED_IN_AGAIN, OPTED_OUT, consent_table
from test_serving_support import build_served_world

HISTORY = [("cus_a", OPTED_IN, True, None, True), ("cus_a", OPTED_OUT, True, None, False),
           ("cus_a", OPTED_IN_AGAIN, True, None, True), ("cus_b", OPTED_IN, True, None, True)]


def test_rows_without_consent_at_their_time_are_left_out(tmp_path):
    from dagster_project.feast_ext.training_recipes import build_training_set, manifest_path

    settings = build_served_world(tmp_path / "data", tables={"customer_consent_features": consent_table(HISTORY)})
    hour = timedelta(hours=1)
    labels = pd.DataFrame({
        "customer_id": ["cus_a", "cus_a", "cus_a", "cus_b", "cus_c"],
        "product_id": ["SKU-1"] * 5,
        "event_timestamp": pd.to_datetime([OPTED_OUT - hour, OPTED_OUT + hour, OPTED_IN_AGAIN + hour / 2,
                                           OPTED_IN + hour, OPTED_IN + hour], utc=True),
    })
    out = tmp_path / "train.parquet"
    manifest = build_training_set(settings, "personalization_v1", labels, out, exclude_withdrawn=True)
    kept = pd.read_parquet(out).sort_values(["customer_id", "event_timestamp"])
    assert list(zip(kept["customer_id"], kept["event_timestamp"])) == [
        ("cus_a", labels["event_timestamp"][0]), ("cus_a", labels["event_timestamp"][2]),
        ("cus_b", labels["event_timestamp"][3]), ("cus_c", labels["event_timestamp"][4])]
    assert manifest["consent"] == {"channel": "personalization", "never_recorded": "not_withdrawn",
                                   "label_rows": 5, "excluded_rows": 1}
    assert json.loads(manifest_path(out).read_text())["consent"]["excluded_rows"] == 1
    # never recorded counted as withdrawn: cus_c goes too
    strict = dataclasses.replace(settings, consent_never_recorded="withdrawn")
    manifest = build_training_set(strict, "personalization_v1", labels, out, overwrite=True, exclude_withdrawn=True)
    assert manifest["rows"] == 3 and manifest["consent"]["excluded_rows"] == 2
    # without the option every label row is kept
    assert build_training_set(settings, "personalization_v1", labels, out, overwrite=True)["rows"] == 5
