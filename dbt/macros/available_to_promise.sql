{# Available to promise: units on hand that no open order has reserved, never below zero (an
   oversold location promises nothing, it does not owe units to other locations). The one
   definition: marts.inventory_positions.available_to_promise is computed with it, and every
   other model reads that column. #}
{% macro available_to_promise(on_hand, reserved) -%}
    greatest({{ on_hand }} - {{ reserved }}, 0)
{%- endmacro %}
