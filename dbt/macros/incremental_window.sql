{#
    Incremental models are driven by Dagster's daily partitions. A partition run passes the
    delivery days it (re)loaded as environment variables: RCL_DBT_WINDOW_START (inclusive) and
    RCL_DBT_WINDOW_END (exclusive), ISO dates, the partition's days plus the look-back days whose
    files may have been re-delivered. Without them (a plain `dbt build`, a full refresh) a model
    processes every delivered row. Variables rather than `--vars`: dbt re-parses only the files
    that read a changed variable; changed vars make it re-parse the whole project.

    Rows are selected by the day their file was delivered (`_delivery_date`), not by their event
    time: an event that arrives late is picked up by the partition of the day it arrived,
    however late it is, and the models recompute what it touches (a session, a day of stock).
#}

{% macro in_delivery_window(column='_delivery_date') -%}
    {%- set window_start = env_var('RCL_DBT_WINDOW_START', '') -%}
    {%- if window_start -%}
        ({{ column }} >= cast('{{ window_start }}' as date) and {{ column }} < cast('{{ env_var("RCL_DBT_WINDOW_END") }}' as date))
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#
    The `latest` CTE of the staging models keyed by a source id: a row already loaded from a
    later file (a correction) keeps precedence over an older file reloaded by a backfill, as in
    a full build where the latest file wins.
#}
{% macro not_superseded_by_a_later_file(relation, key) -%}
    {%- if is_incremental() -%}
    select * from {{ relation }}
    where not exists (
        select 1 from {{ this }} as loaded
        where loaded.{{ key }} = {{ relation }}.{{ key }} and loaded._source_file > {{ relation }}._source_file
    )
    {%- else -%}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#
    Pre-hook of the staging models keyed by a source id: the rows delivered in the window are
    reloaded whole, so a re-delivered file that dropped a row drops it here too.
#}
{% macro delete_delivery_window() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_delivery_window() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
