-- One row per product: the latest PIM version, category path split into levels, and the
-- technical specs as typed columns (var product_spec_columns); a category's products carry the
-- specs it defines, the rest are null. The raw specs object stays available as specs_json.
with

products as (select * from {{ ref('stg_pim__products') }}),

flattened as (

    select
        products.* exclude (specs, _source_file, _source_line, _loaded_at),
        {%- for spec, spec_type in var('product_spec_columns').items() %}
        try_cast(json_extract_string(products.specs, '$."{{ spec }}"') as {{ spec_type }}) as spec_{{ spec }},
        {%- endfor %}
        products.specs as specs_json,
    from products

),

final as (

    select * from flattened

)

select * from final
