{# Feast needs one row per entity and event_timestamp; duplicates would make point-in-time joins
   ambiguous. A generic test (one per feature table) so that it runs in the dbt step that builds
   the table: each feature table is its own step. #}
{% test assert_feature_rows_unique_per_entity_and_time(model, entity) %}
select {{ entity }} as entity_id, event_timestamp, count(*) as row_count
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
