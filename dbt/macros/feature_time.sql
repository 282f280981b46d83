{# When a day's feature values become known: the following midnight (UTC), once the day's data
   is complete. Every feature table computed per day stamps event_timestamp with this, so a
   point-in-time join never sees a value computed from its own future. #}
{% macro known_after_day(day) -%}
    cast({{ day }} + interval 1 day as timestamp)
{%- endmacro %}
