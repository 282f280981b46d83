-- One row per pair of identifiers seen together in a source row (both directions), with the
-- source that linked them; every identifier also appears once paired with itself, so that one
-- seen alone still becomes a customer. Identifiers are typed: anonymous_id (web cookie), oms_customer_id
-- (shop account = web user_id), crm_customer_id, email_hash, phone_hash, and order_id for
-- orders that carry no other usable identifier.
{%- set subscriber_param = var('identity_subscriber_url_param', 'rcl_sub') %}
with

web_events as (select * from {{ ref('stg_web__events') }}),
orders as (select * from {{ ref('stg_oms__orders') }}),
crm_customers as (select * from {{ ref('stg_crm__customers') }}),
support_tickets as (select * from {{ ref('stg_crm__support_tickets') }}),

email_click_landings as (

    -- A newsletter link lands with the subscriber the ESP's click redirect appends to it
    -- (...?utm_medium=email&{{ subscriber_param }}=CRM1000123): the browser that followed the link
    -- belongs to that CRM record. Only a token naming a known CRM record links: empty tokens,
    -- 'null', unrendered merge tags ('*|SUB_ID|*') and mangled escapes never match one (CRM ids
    -- need no URL decoding, and a malformed escape must not fail the build).
    select web_events.anonymous_id, known.crm_customer_id, web_events._source_file, web_events._source_line
    from (
        select anonymous_id, _source_file, _source_line,
               nullif(trim(regexp_extract(page_url, '[?&]{{ subscriber_param }}=([^&#]*)', 1)), '')
                   as subscriber_token
        from web_events
        where page_url like '%{{ subscriber_param }}=%'
    ) as web_events
    inner join (select distinct crm_customer_id from crm_customers) as known
        on known.crm_customer_id = web_events.subscriber_token
    where lower(web_events.subscriber_token) not in ('null', 'none', 'undefined')

),

email_click_cookies as (

    -- over-merge guard for this rule: a browser that followed the links of more subscribers
    -- than one person has accounts (a store kiosk, a family laptop) links none of them
    select anonymous_id
    from email_click_landings
    group by anonymous_id
    having count(distinct crm_customer_id) <= {{ var('identity_max_accounts_per_identifier') }}

),

pairs as (

    -- a logged-in web event: cookie <-> account
    select 'anonymous_id' as type_a, anonymous_id as value_a,
           'oms_customer_id' as type_b, user_id as value_b, 'web_events' as linked_by,
           _source_file, _source_line
    from web_events where user_id is not null

    union all
    -- identify calls: cookie <-> email, account <-> email
    select 'anonymous_id', anonymous_id, 'email_hash', email_hash, 'web_identify', _source_file, _source_line
    from web_events where email_hash is not null
    union all
    select 'oms_customer_id', user_id, 'email_hash', email_hash, 'web_identify', _source_file, _source_line
    from web_events where email_hash is not null and user_id is not null

    union all
    -- checkout: account <-> email, email <-> phone
    select 'oms_customer_id', oms_customer_id, 'email_hash', email_hash, 'oms_orders', _source_file, _source_line
    from orders where oms_customer_id is not null and email_hash is not null
    union all
    select 'email_hash', email_hash, 'phone_hash', phone_hash, 'oms_orders', _source_file, _source_line
    from orders where email_hash is not null and phone_hash is not null
    union all
    -- phone and catalogue orders often carry a phone and an account but no email
    select 'oms_customer_id', oms_customer_id, 'phone_hash', phone_hash, 'oms_orders', _source_file, _source_line
    from orders where oms_customer_id is not null and email_hash is null and phone_hash is not null

    union all
    -- the browser that completed an order <-> the email typed at checkout (guest checkouts)
    select 'anonymous_id', web_events.anonymous_id, 'email_hash', orders.email_hash, 'web_order_completed',
           web_events._source_file, web_events._source_line
    from web_events
    inner join orders on web_events.order_id = orders.order_id
    where web_events.event_name = {{ event_name('order_completed') }} and orders.email_hash is not null

    union all
    -- a guest order without a usable email (placeholder typed) still belongs to the browser
    -- that completed it
    select 'anonymous_id', web_events.anonymous_id, 'order_id', orders.order_id, 'web_order_completed',
           web_events._source_file, web_events._source_line
    from web_events
    inner join orders on web_events.order_id = orders.order_id
    where web_events.event_name = {{ event_name('order_completed') }} and orders.email_hash is null and orders.oms_customer_id is null

    union all
    -- newsletter click landing: cookie <-> the CRM record the e-mail was sent to
    select 'anonymous_id', anonymous_id, 'crm_customer_id', crm_customer_id, 'web_email_click', _source_file, _source_line
    from email_click_landings
    where anonymous_id in (select anonymous_id from email_click_cookies)

    union all
    -- CRM records <-> email, phone, account
    select 'crm_customer_id', crm_customer_id, 'email_hash', email_hash, 'crm_customers', _source_file, _source_line
    from crm_customers where email_hash is not null
    union all
    select 'crm_customer_id', crm_customer_id, 'phone_hash', phone_hash, 'crm_customers', _source_file, _source_line
    from crm_customers where phone_hash is not null
    union all
    select 'crm_customer_id', crm_customer_id, 'oms_customer_id', oms_customer_id, 'crm_customers', _source_file, _source_line
    from crm_customers where oms_customer_id is not null

    union all
    select 'crm_customer_id', crm_customer_id, 'email_hash', email_hash, 'crm_support_tickets', _source_file, _source_line
    from support_tickets where crm_customer_id is not null and email_hash is not null

),

identifiers_seen_alone as (

    select 'anonymous_id' as identifier_type, anonymous_id as identifier_value, 'web_events' as linked_by
    from web_events
    union all
    select 'oms_customer_id', oms_customer_id, 'oms_orders' from orders where oms_customer_id is not null
    union all
    select 'email_hash', email_hash, 'oms_orders' from orders where email_hash is not null
    union all
    -- a guest order without a usable email belongs to the phone given with it
    select 'phone_hash', phone_hash, 'oms_orders' from orders
    where email_hash is null and oms_customer_id is null and phone_hash is not null
    union all
    select 'crm_customer_id', crm_customer_id, 'crm_customers' from crm_customers
    union all
    select 'email_hash', email_hash, 'crm_support_tickets' from support_tickets where email_hash is not null

),

distinct_pairs as (

    -- the first source row (by file and line) that linked the pair is its evidence in the audit
    select type_a, value_a, type_b, value_b,
           arg_min(linked_by, (_source_file, _source_line)) as linked_by,
           arg_min(_source_file, (_source_file, _source_line)) as first_source_file,
           arg_min(_source_line, (_source_file, _source_line)) as first_source_line,
           count(*) as times_seen
    from pairs
    where value_a is not null and value_b is not null
    group by all

),

both_directions as (

    select type_a, value_a, type_b, value_b, linked_by, first_source_file, first_source_line, times_seen
    from distinct_pairs
    union all
    select type_b, value_b, type_a, value_a, linked_by, first_source_file, first_source_line, times_seen
    from distinct_pairs
    union all
    select identifier_type, identifier_value, identifier_type, identifier_value, min(linked_by), null, null, count(*)
    from identifiers_seen_alone
    group by identifier_type, identifier_value

),

final as (

    select * from both_directions

)

select * from final
