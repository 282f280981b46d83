-- One row per product and day on which it sold or was asked back: units sold and returned up to
-- the day and the return rate per return reason of the oms/returns contract (var return_reasons):
-- units returned for that reason / units sold, lifetime. Returns count on the day they were
-- requested; stamped the following midnight (UTC). Values change only on such days, so no
-- heartbeat row is needed within the view's TTL beyond them.
with

order_lines as (select * from {{ ref('order_lines') }} where not is_cancelled and product_id is not null),
returns as (select * from {{ ref('returns') }} where product_id is not null),

daily as (

    select product_id, order_date as activity_date, sum(quantity) as units_sold, 0 as units_returned,
           {% for reason in var('return_reasons') %}0 as units_returned_{{ reason }},{% endfor %}
    from order_lines
    group by all
    union all
    select product_id, cast(requested_at as date), 0, sum(quantity),
           {% for reason in var('return_reasons') %}coalesce(sum(quantity) filter (where return_reason = '{{ reason }}'), 0),{% endfor %}
    from returns
    group by all

),

running as (

    select
        product_id,
        activity_date,
        sum(sum(units_sold)) over lifetime as units_sold_lifetime,
        sum(sum(units_returned)) over lifetime as units_returned_lifetime,
        {% for reason in var('return_reasons') %}
        sum(sum(units_returned_{{ reason }})) over lifetime as units_returned_{{ reason }}_lifetime,
        {% endfor %}
    from daily
    group by product_id, activity_date
    window lifetime as (partition by product_id order by activity_date rows between unbounded preceding and current row)

),

final as (

    select
        product_id,
        {{ known_after_day('activity_date') }} as event_timestamp,
        activity_date as feature_date,
        cast(units_sold_lifetime as bigint) as units_sold_lifetime,
        cast(units_returned_lifetime as bigint) as units_returned_lifetime,
        {% for reason in var('return_reasons') %}
        cast(case when units_sold_lifetime > 0
                  then least(1.0, units_returned_{{ reason }}_lifetime / units_sold_lifetime) end as double)
            as return_rate_{{ reason }},
        {% endfor %}
    from running

)

select * from final
order by product_id, event_timestamp
