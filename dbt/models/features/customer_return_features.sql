-- One row per customer and day on which they bought or asked to return something: returns in 90
-- days, lifetime unit return rate, share of returns without a defect reason (var
-- return_defect_reasons) and the serial-returner flag (vars serial_returner_min_returns and
-- serial_returner_min_rate: a retailer's policy, not fitted to data). Returns count for the
-- buyer, on the day they were requested; stamped the following midnight (UTC). No PII.
with

order_lines as (select * from {{ ref('order_lines') }} where not is_cancelled and customer_id is not null),
returns as (select * from {{ ref('returns') }} where customer_id is not null),

daily as (

    select customer_id, order_date as activity_date, sum(quantity) as units_bought,
           0 as returns, 0 as units_returned, 0 as returns_without_defect,
    from order_lines
    group by all
    union all
    select customer_id, cast(requested_at as date), 0, count(*), sum(quantity),
           count(*) filter (where return_reason not in ({% for reason in var('return_defect_reasons') %}'{{ reason }}'{{ ", " if not loop.last }}{% endfor %})),
    from returns
    group by all

),

days as (

    select customer_id, activity_date, sum(units_bought) as units_bought, sum(returns) as returns,
           sum(units_returned) as units_returned, sum(returns_without_defect) as returns_without_defect,
    from daily
    group by all

),

running as (

    select
        customer_id,
        activity_date,
        sum(returns) over last_90_days as returns_90d,
        sum(returns) over lifetime as returns_lifetime,
        sum(returns_without_defect) over lifetime as returns_without_defect_lifetime,
        sum(units_bought) over lifetime as units_bought_lifetime,
        sum(units_returned) over lifetime as units_returned_lifetime,
    from days
    window
        lifetime as (partition by customer_id order by activity_date rows between unbounded preceding and current row),
        last_90_days as (partition by customer_id order by activity_date range between interval 89 days preceding and current row)

),

rates as (

    select
        *,
        case when units_bought_lifetime > 0 then least(1.0, units_returned_lifetime / units_bought_lifetime) end as customer_return_rate,
    from running

),

final as (

    select
        customer_id,
        {{ known_after_day('activity_date') }} as event_timestamp,
        activity_date as feature_date,
        cast(returns_90d as bigint) as returns_90d,
        cast(returns_lifetime as bigint) as returns_lifetime,
        cast(customer_return_rate as double) as customer_return_rate,
        cast(case when returns_lifetime > 0 then returns_without_defect_lifetime / returns_lifetime end as double)
            as non_defect_return_share,
        coalesce(returns_90d >= {{ var('serial_returner_min_returns') }}
                 and customer_return_rate >= {{ var('serial_returner_min_rate') }}, false) as is_serial_returner,
    from rates

)

select * from final
order by customer_id, event_timestamp
