{# How a daily feature table stores few rows (see product_features): `daily_values` holds every
   entity and day; a row is kept where any of `feature_values` differs from the entity's
   previous day (its first day always), and every var product_feature_heartbeat_days days so
   that a point-in-time read stays within the feature view's TTL. #}
{% macro rows_on_change_or_heartbeat(daily_values, entity, feature_values) -%}
    select * exclude (has_changed, is_heartbeat)
    from (
        select
            *,
            ({{ feature_values }}) is distinct from lag(({{ feature_values }}))
                over (partition by {{ entity }} order by feature_date) as has_changed,
            date_diff('day', min(feature_date) over (partition by {{ entity }}), feature_date)
                % {{ var('product_feature_heartbeat_days') }} = 0 as is_heartbeat,
        from {{ daily_values }}
    )
    where has_changed or is_heartbeat
{%- endmacro %}

{# The days a daily feature table covers: from the first `date_column` of `versions` (the
   entity's first record) to the last day any source has data for (a source not delivered does
   not end the calendar). #}
{% macro feature_calendar(versions, date_column) -%}
    select cast(range as date) as feature_date
    from range(
        (select min({{ date_column }}) from {{ versions }}),
        greatest(
            (select max(position_date) from {{ ref('inventory_positions') }}),
            (select max(order_date) from {{ ref('order_lines') }}),
            (select max(event_date) from {{ ref('int_web_events_attributed') }}),
            (select max({{ date_column }}) from {{ versions }})
        ) + interval 1 day,
        interval 1 day
    )
{%- endmacro %}
