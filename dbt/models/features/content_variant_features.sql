-- One row per content variant, segment and UTC day with any impression or outcome: the counts
-- up to the end of the day and the Beta posterior of the variant's success rate (the reward of
-- marts.content_impressions: an add-to-cart for product-page copy, an open for a subject line).
-- Every count is taken on the day its event happened, so a row never holds an outcome of its
-- future; an impression without its outcome yet counts as a failure until the outcome arrives.
-- Segments: the customer's tenure ('new', 'returning') and 'all' (every impression), so a
-- bandit can fall back to the pooled posterior where a segment has little data.
-- Stamped event_timestamp = the following midnight (UTC). Feeds Feast view
-- content_variant_features; a serving layer may push fresher counts (content_variant_features_push).
with

impressions as (select * from {{ ref('content_impressions') }}),

segmented as (

    select * from impressions
    union all
    select * replace ('all' as segment) from impressions

),

outcome_days as (

    -- one row per impression and kind of event, on the day it happened
    select variant_id, segment, cast(impressed_at as date) as feature_date, 'impression' as outcome from segmented
    union all
    select variant_id, segment, cast(clicked_at as date), 'click' from segmented where clicked_at is not null
    union all
    select variant_id, segment, cast(added_to_cart_at as date), 'add_to_cart' from segmented where added_to_cart_at is not null
    union all
    select variant_id, segment, cast(converted_at as date), 'conversion' from segmented where converted_at is not null
    union all
    select variant_id, segment, cast(succeeded_at as date), 'success' from segmented where succeeded_at is not null

),

daily as (

    select
        variant_id,
        segment,
        feature_date,
        count(*) filter (where outcome = 'impression') as impressions,
        count(*) filter (where outcome = 'click') as clicks,
        count(*) filter (where outcome = 'add_to_cart') as add_to_carts,
        count(*) filter (where outcome = 'conversion') as conversions,
        count(*) filter (where outcome = 'success') as successes,
    from outcome_days
    group by all

),

cumulative as (

    select
        variant_id,
        segment,
        feature_date,
        {% for count in ['impressions', 'clicks', 'add_to_carts', 'conversions', 'successes'] %}
        cast(sum({{ count }}) over up_to_the_day as bigint) as {{ count }},
        {% endfor %}
    from daily
    window up_to_the_day as (partition by variant_id, segment order by feature_date)

),

variants as (

    -- the content a variant belongs to: its most frequent content id (a page call without a
    -- product id names its page path instead), ties by id, so every build picks the same
    select variant_id, content_kind, content_id,
    from (select variant_id, content_kind, content_id, count(*) as impressions, from impressions group by all)
    qualify row_number() over (partition by variant_id order by impressions desc, content_id) = 1

),

final as (

    select
        cumulative.variant_id,
        cumulative.segment,
        {{ known_after_day('cumulative.feature_date') }} as event_timestamp,
        cumulative.feature_date,
        variants.content_kind,
        variants.content_id,
        cumulative.impressions,
        cumulative.clicks,
        cumulative.add_to_carts,
        cumulative.conversions,
        cumulative.successes,
        cumulative.impressions - cumulative.successes as failures,
        cast({{ var('content_variant_prior_alpha') }} as double) + cumulative.successes as posterior_alpha,
        cast({{ var('content_variant_prior_beta') }} as double) + cumulative.impressions - cumulative.successes
            as posterior_beta,
        (cast({{ var('content_variant_prior_alpha') }} as double) + cumulative.successes)
            / (cast({{ var('content_variant_prior_alpha') }} as double)
               + cast({{ var('content_variant_prior_beta') }} as double) + cumulative.impressions) as posterior_mean,
    from cumulative
    inner join variants on variants.variant_id = cumulative.variant_id

)

select * from final
