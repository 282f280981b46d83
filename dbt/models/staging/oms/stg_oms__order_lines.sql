{{
    config(
        materialized='incremental',
        unique_key='order_line_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_delivery_window() }}",
        tags=['daily'],
    )
}}
-- Incremental: a daily partition loads the rows delivered in its window (see
-- macros/incremental_window.sql); a later delivery of the same order_line_id replaces the row.

with

source as (

    select * from {{ source('oms', 'order_lines') }}
    {% if is_incremental() %} where {{ in_delivery_window() }} {% endif %}

),

renamed as (

    select
        -- ids
        trim(order_line_id) as order_line_id,
        trim(order_id) as order_id,
        trim(product_id) as product_id,

        -- properties
        line_number,
        quantity,

        -- money
        unit_price,
        discount_amount,
        cast(quantity * unit_price - discount_amount as decimal(12, 2)) as line_amount,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at,
        _delivery_date

    from source

),

deduplicated as (

    -- Re-delivered lines: the latest file wins, the first line within a file.
    select *
    from renamed
    qualify row_number() over (
        partition by order_line_id
        order by _source_file desc, _source_line asc
    ) = 1

),

latest as (

    {{ not_superseded_by_a_later_file('deduplicated', 'order_line_id') }}

),

final as (

    select * from latest

)

select * from final
