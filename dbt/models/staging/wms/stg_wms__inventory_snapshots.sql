{{ config(tags=['daily']) }}
-- Tagged daily: a view read by the daily-partitioned inventory_positions.

with

source as (

    select * from {{ source('wms', 'inventory_snapshots') }}

),

renamed as (

    select
        -- ids
        cast(snapshot_date as varchar) || '|' || trim(product_id) || '|' || trim(location_id)
            as inventory_snapshot_id,
        trim(product_id) as product_id,
        trim(location_id) as location_id,

        -- quantities
        on_hand,
        reserved,
        on_hand - reserved as available,

        -- dates and timestamps (UTC)
        snapshot_date,
        snapshot_at,

        -- lineage
        _source_file,
        _source_line,
        _loaded_at,
        _delivery_date

    from source

),

deduplicated as (

    -- One row per date, product and location. When a day is re-delivered (or the key repeats),
    -- the latest file wins, then the latest snapshot_at, then the last line.
    select *
    from renamed
    qualify row_number() over (
        partition by inventory_snapshot_id
        order by _source_file desc, snapshot_at desc, _source_line desc
    ) = 1

),

final as (

    select * from deduplicated

)

select * from final
