{# One row per combination of the given columns (a compound key, e.g. product and day). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as row_count
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
