"""Content-variant feedback for bandit tests (variant x segment): the entities, sources, view and
the `content_variants_v1` service over dbt model features/content_variant_features. How a
serving layer samples from it: docs/content_variants.md, dagster_project/serving/bandit.py."""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, ValueType
from feast.types import Float64, Int64, String

content_variant = Entity(
    name="content_variant",
    join_keys=["variant_id"],
    value_type=ValueType.STRING,
    description="One variant of a piece of content under test: a product page's copy or a newsletter's subject line.",
    tags={"owner": "content-experiments", "dbt_model": "content_impressions"},
)

content_segment = Entity(
    name="content_segment",
    join_keys=["segment"],
    value_type=ValueType.STRING,
    description="Audience segment of a content test: 'new', 'returning' (an order before the impression) or 'all'.",
    tags={"owner": "content-experiments", "dbt_model": "content_impressions"},
)

content_variant_features_source = FileSource(
    name="content_variant_features_source",
    path="content_variant_features.parquet",
    timestamp_field="event_timestamp",
    description="dbt model features/content_variant_features, one row per variant, segment and day with activity.",
)

# A serving layer that counts impressions and outcomes as they happen pushes the fresher
# counts (FeatureStore.push or POST /push); the nightly publish keeps a pushed row that is newer.
content_variant_features_push = PushSource(
    name="content_variant_features_push",
    batch_source=content_variant_features_source,
    description="Fresher variant counts pushed by a serving layer: variant_id, segment, event_timestamp and the view's columns.",
    tags={"producer": "content-serving"},
)

content_variant_features = FeatureView(
    name="content_variant_features",
    entities=[content_variant, content_segment],
    # A test paused for a year has no posterior worth sampling.
    ttl=timedelta(days=365),
    schema=[
        Field(name="content_kind", dtype=String, description="What varies: product_page_copy or email_subject_line."),
        Field(name="content_id", dtype=String, description="The piece of content the variant belongs to: the product or the campaign."),
        Field(name="impressions", dtype=Int64, description="Times the variant was shown to the segment, up to the day."),
        Field(name="clicks", dtype=Int64, description="Impressions followed by a click on the content's link (emails; a product page has none), up to the day."),
        Field(name="add_to_carts", dtype=Int64, description="Impressions followed by an add-to-cart (on the page, or in a session from the email), up to the day."),
        Field(name="conversions", dtype=Int64, description="Impressions followed by an order (same session, or a session from the email), up to the day."),
        Field(name="successes", dtype=Int64, description="Impressions that earned the reward (add-to-cart for page copy, open for a subject line), up to the day."),
        Field(name="failures", dtype=Int64, description="impressions - successes (an impression whose outcome is pending counts here)."),
        Field(name="posterior_alpha", dtype=Float64, description="Beta posterior alpha of the success rate: prior alpha (var content_variant_prior_alpha) + successes."),
        Field(name="posterior_beta", dtype=Float64, description="Beta posterior beta of the success rate: prior beta (var content_variant_prior_beta) + failures."),
        Field(name="posterior_mean", dtype=Float64, description="posterior_alpha / (posterior_alpha + posterior_beta)."),
    ],
    source=content_variant_features_push,
    online=True,
    description="Impressions, outcomes and the Beta posterior of each content variant per segment, as of each day with activity.",
)

content_variants_v1 = FeatureService(
    name="content_variants_v1",
    features=[content_variant_features],
    description="Thompson sampling over content variants: the Beta posterior per variant and segment, with its counts.",
    tags={"owner": "content-experiments", "consumer": "content-bandit"},
)
