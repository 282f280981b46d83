{# The web shop's track and page events by name (Segment spec names, as the source contract
   lists them): models say event_name = {{ event_name('product_viewed') }} instead of repeating
   the string, so a renamed event is changed here once. An unknown key fails compilation rather
   than matching nothing. #}
{% macro web_event_names() %}
{{ return({
    'page_viewed': 'Page Viewed',
    'products_searched': 'Products Searched',
    'product_viewed': 'Product Viewed',
    'product_added': 'Product Added',
    'product_removed': 'Product Removed',
    'checkout_step_viewed': 'Checkout Step Viewed',
    'order_completed': 'Order Completed',
}) }}
{% endmacro %}

{% macro event_name(key) -%}
    {%- set names = web_event_names() -%}
    {%- if key not in names -%}
        {{ exceptions.raise_compiler_error("unknown web event '" ~ key ~ "'; known: " ~ (names.keys() | list | join(', '))) }}
    {%- endif -%}
    '{{ names[key] }}'
{%- endmacro %}
