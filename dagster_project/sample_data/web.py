"""Web analytics: the sessions of buyers, browsers and newsletter clicks on the shop, the tracked
events they leave (WebEvents), and the carts the web and app orders came from (OrderCarts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.catalog import Catalog
from dagster_project.sample_data.columns import (berlin_offset_minutes, dictionary_column, scrambled_ids, segments,
                                                 uuid_like)
from dagster_project.sample_data.content_variants import content_variants, shown_variants
from dagster_project.sample_data.devices import Devices
from dagster_project.sample_data.newsletter import NewsletterClicks
from dagster_project.sample_data.orders import APP, OrderCarts, Orders
from dagster_project.sample_data.people import People, pick_email, pick_phone
from dagster_project.sample_data.profile import WorldProfile
from dagster_project.sample_data.scales import Sizes
from dagster_project.sample_data.web_json import WebEventJson
from dagster_project.sample_data.window import Window, day_of

# source, medium, campaign name, referrer shown on the landing page. Newsletter traffic is not drawn
# at random: it is the landing sessions of the newsletter's clicks.
UTM_CAMPAIGNS = [("google", "cpc", "brand_search", "https://www.google.com/"),
                 ("google", "cpc", "generic_tv_audio", "https://www.google.com/"),
                 ("facebook", "paid_social", "autumn_sale", "https://www.facebook.com/"),
                 ("instagram", "paid_social", "headphones_launch", "https://www.instagram.com/"),
                 ("idealo", "price_comparison", "product_feed", "https://www.idealo.de/"),
                 ("awin", "affiliate", "partner_deals", "https://www.mydealz.de/")]
ORGANIC_REFERRERS = [None, "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
                     "https://www.youtube.com/"]
ORGANIC_REFERRER_P = [0.5, 0.38, 0.05, 0.03, 0.04]
# Share of sessions that arrive through a paid campaign link (UTM_CAMPAIGNS).
PAID_UTM_P = 0.26

EVENT_NAMES = ["Products Searched", "Product Viewed", "Product Added", "Product Removed",
               "Checkout Step Viewed", "Order Completed"]
CHECKOUT_PAGES = [("/checkout/cart", "Cart"), ("/checkout/shipping", "Shipping"), ("/checkout/payment", "Payment"),
                  ("/checkout/review", "Review your order")]
# The parts of a session, in order: the landing page, a search, product views (a page and its
# 'Product Viewed' event each), cart adds, a removal, identify (login or typed e-mail), checkout
# steps, the completed order.
LANDING, SEARCH, VIEWS, ADDS, REMOVAL, IDENTIFY, CHECKOUT, COMPLETED = range(8)


@dataclass(frozen=True)
class WebEvents:
    table: pa.Table  # web/events without its JSON columns
    row_order: np.ndarray  # by time, then event (a retry sorts right after its original)
    json: WebEventJson  # renders context/properties/traits per written chunk
    carts: OrderCarts  # the cart every web and app order came from
    # what the events show, for the ground truth
    devices_seen: np.ndarray
    accounts_seen: np.ndarray
    emails_seen: np.ndarray
    phones_seen: np.ndarray


def build_web(rng: np.random.Generator, window: Window, sizes: Sizes, profile: WorldProfile, people: People,
              devices: Devices, catalog: Catalog, orders: Orders, clicks: NewsletterClicks,
              variant_rng: np.random.Generator) -> WebEvents:
    """The web events; the product-page copy variants are drawn from `variant_rng` alone."""
    sessions = _sessions(rng, window, sizes, people, devices, orders, clicks)
    sessions.update(_session_shape(rng, orders, sessions))
    events = _event_layout(rng, sessions)
    cart = _cart_contents(rng, catalog, orders, sessions)
    product, quantity = _event_products(rng, catalog, sessions, events, cart)
    carts, cart_of_session = _cart_ids(rng, orders, sessions)
    pages = _page_dictionary(profile, catalog)
    page, term = _event_pages(rng, catalog, sessions, events, cart, product, clicks, pages)
    attribution = _attribution(rng, sessions, events, clicks)
    traits = _identify_traits(rng, people, sessions, events)
    columns = _event_columns(rng, catalog, devices, people, orders, sessions, events, cart, product, quantity,
                             cart_of_session, page, term, attribution, traits, pages)
    columns["content_variant_id"] = _product_page_variants(variant_rng, profile, catalog, sessions, events, cart,
                                                           page, pages)
    json = WebEventJson(
        shop_url=profile.shop_url, currency=profile.currency, pages=pages["paths"], titles=pages["titles"],
        external_referrers=attribution["external_referrers"], campaigns=attribution["campaigns"],
        subscriber_tokens=clicks.subscriber_tokens, devices=devices, product_ids=catalog.ids, cart_ids=carts.ids,
        search_terms=catalog.search_terms, order_ids=orders.ids, email_variants=people.email_variants,
        phone_variants=people.phone_variants)
    device = sessions["device"][events["session"]]
    return _delivered_events(rng, window, columns, events["at"], device, traits, json, carts)


def _sessions(rng: np.random.Generator, window: Window, sizes: Sizes, people: People, devices: Devices,
              orders: Orders, clicks: NewsletterClicks) -> dict:
    """Buying sessions (web and app orders, except a few app orders the tracking missed), browsing
    sessions, and the landing sessions of newsletter clicks (a few seconds after the click, in one
    of the subscriber's browsers): who, when, on which device, with which account."""
    m = orders.count
    tracked = (orders.channel < 2) & ~((orders.channel == APP) & (rng.random(m) < 0.05))
    buying_order = np.flatnonzero(tracked)
    rate = people.browse_activity * sizes.browse_sessions_per_person_year * sizes.days / 365
    clicks_per_person = np.bincount(clicks.person, minlength=people.count)
    browser = np.repeat(np.arange(people.count), np.maximum(rng.poisson(rate) - clicks_per_person, 0))
    browse_at = window.random_times(rng, len(browser))
    n_clicks = len(clicks.person)
    n_not_buying = len(browser) + n_clicks
    n = len(buying_order) + n_not_buying
    person = np.concatenate([orders.person[buying_order], browser, clicks.person])
    order = np.concatenate([buying_order, np.full(n_not_buying, -1)])
    converted = order >= 0
    from_email = np.arange(n) >= n - n_clicks
    anchor = np.concatenate([orders.ordered_at[buying_order], browse_at, clicks.at + rng.integers(1, 15, n_clicks)])
    # device: the app for app orders, else one of the person's browsers; a few kiosk visits
    browser_device = devices.first_of_person[person] + (rng.random(n) * devices.browsers_of_person[person]).astype(np.int64)
    use_app = np.where(converted, orders.channel[np.maximum(order, 0)] == APP,
                       ~from_email & (devices.app_of_person[person] >= 0) & (rng.random(n) < 0.2))
    device = np.where(use_app, devices.app_of_person[person], browser_device)
    kiosk = ~converted & ~from_email & (rng.random(n) < 0.015)
    device = np.where(kiosk, devices.first_kiosk + rng.integers(0, sizes.kiosks, n), device)
    registered = people.registered_at[person] <= anchor
    account = np.where(converted, orders.account[np.maximum(order, 0)],
                       np.where(registered, people.account_of[person], -1))
    return dict(count=n, buying_order=buying_order, person=person, order=order, converted=converted,
                from_email=from_email, anchor=anchor, use_app=use_app, device=device, kiosk=kiosk, account=account)


def _session_shape(rng: np.random.Generator, orders: Orders, sessions: dict) -> dict:
    """How much happens in a session: cart size (the order's lines, sometimes one removed item;
    some browsers fill a cart), views, a search, checkout steps, login or a typed e-mail."""
    n, converted, kiosk, account = sessions["count"], sessions["converted"], sessions["kiosk"], sessions["account"]
    removals = (rng.random(n) < 0.1).astype(np.int64)
    has_cart = converted | (~kiosk & (rng.random(n) < 0.3))
    browse_cart = 1 + (rng.random(n) < 0.3) + (rng.random(n) < 0.1)
    order_lines = np.where(converted, orders.line_count[np.maximum(sessions["order"], 0)], 0)
    cart_size = np.where(converted, order_lines + removals, np.where(has_cart, browse_cart, 0))
    removals = np.where(has_cart, removals, 0)
    removals = np.where(~converted & has_cart & (cart_size < 2), 0, removals)  # a browser removes one of several items
    views = cart_size + rng.poisson(np.where(converted, 1.0, 1.5), n)
    search = (rng.random(n) < 0.5).astype(np.int64)
    checkout_steps = np.where(converted, 4, np.where(has_cart, rng.choice(5, size=n, p=[0.3, 0.3, 0.2, 0.12, 0.08]), 0))
    # Login: already logged in (cookie) or logging in mid-session (identify); guests type their
    # e-mail at checkout (identify without user_id). The app keeps its login between sessions.
    logged_in_at_start = (account >= 0) & ~kiosk & (
        rng.random(n) < np.where(sessions["use_app"], 0.9, np.where(converted, 0.55, 0.45)))
    logs_in = (account >= 0) & ~logged_in_at_start & (converted | (rng.random(n) < np.where(kiosk, 0.3, 0.12)))
    guest_types_email = (account < 0) & ~kiosk & np.where(converted, rng.random(n) < 0.85,
                                                          (checkout_steps >= 2) & (rng.random(n) < 0.5))
    identify = (logs_in | guest_types_email).astype(np.int64)
    return dict(order_lines=order_lines, cart_size=cart_size, removals=removals, views=views, search=search,
                checkout_steps=checkout_steps, identify=identify, logged_in_at_start=logged_in_at_start,
                session_account=np.where(logged_in_at_start | logs_in, account, -1))


def _event_layout(rng: np.random.Generator, sessions: dict) -> dict:
    """Every event's session, position, session part and index within the part, and its time
    (gaps between events; buying sessions end with the order)."""
    n = sessions["count"]
    counts = np.stack([np.ones(n, np.int64), sessions["search"], 2 * sessions["views"], sessions["cart_size"],
                       sessions["removals"], sessions["identify"], sessions["checkout_steps"],
                       sessions["converted"].astype(np.int64)], 1)
    ends = np.cumsum(counts, 1)
    per_session = ends[:, -1]
    session, position = segments(per_session)
    part = np.zeros(len(session), dtype=np.int8)
    for k in range(counts.shape[1] - 1):
        part += position >= ends[session, k]
    index_in_part = position - (ends[session, part] - counts[session, part])
    gap = np.where(position == 0, 0, 3 + rng.exponential(np.where(part >= CHECKOUT, 25, 40), len(session))).astype(np.int64)
    offset = np.cumsum(gap)
    offset -= offset[np.cumsum(per_session) - per_session][session]
    duration = offset[np.cumsum(per_session) - 1]
    start = np.where(sessions["converted"], sessions["anchor"] - duration, sessions["anchor"])
    return dict(session=session, position=position, part=part, index=index_in_part, at=start[session] + offset)


def _cart_contents(rng: np.random.Generator, catalog: Catalog, orders: Orders, sessions: dict) -> dict:
    """Cart items: the order lines for buyers, popular products for browsers."""
    item_session, item_index = segments(sessions["cart_size"])
    item_order = sessions["order"][item_session]
    from_line = (item_order >= 0) & (item_index < sessions["order_lines"][item_session])
    product = rng.choice(catalog.evergreen, size=len(item_session), p=catalog.evergreen_p)
    line = orders.first_line[item_order[from_line]] + item_index[from_line]
    product[from_line] = orders.line_product[line]
    quantity = np.ones(len(item_session), dtype=np.int64)
    quantity[from_line] = orders.line_quantity[line]
    first_item = np.cumsum(sessions["cart_size"]) - sessions["cart_size"]
    return dict(product=product, quantity=quantity, first_item=first_item)


def _event_products(rng: np.random.Generator, catalog: Catalog, sessions: dict, events: dict,
                    cart: dict) -> tuple[np.ndarray, np.ndarray]:
    """The product (and quantity) of views, adds and the removal: views show the cart's products
    first, then others; the page view and its 'Product Viewed' event show the same product."""
    session, part, index = events["session"], events["part"], events["index"]
    n_events = len(session)
    view_number = index // 2
    random_product = rng.choice(catalog.evergreen, size=n_events, p=catalog.evergreen_p)
    cart_size = sessions["cart_size"][session]
    first_item = cart["first_item"]
    product = np.full(n_events, -1, dtype=np.int64)
    quantity = np.full(n_events, -1, dtype=np.int64)
    is_view = part == VIEWS
    from_cart = is_view & (view_number < cart_size)
    view_page = np.flatnonzero(is_view) - (index[is_view] % 2)
    product[is_view] = random_product[view_page]
    product[from_cart] = cart["product"][first_item[session[from_cart]] + view_number[from_cart]]
    add = part == ADDS
    product[add] = cart["product"][first_item[session[add]] + index[add]]
    quantity[add] = cart["quantity"][first_item[session[add]] + index[add]]
    removal = part == REMOVAL
    product[removal] = cart["product"][first_item[session[removal]] + cart_size[removal] - 1]
    quantity[removal] = 1
    return product, quantity


def _cart_ids(rng: np.random.Generator, orders: Orders, sessions: dict) -> tuple[OrderCarts, np.ndarray]:
    """Carts get ids and orders the cart they came from; app orders the tracking missed still
    carry a cart id, without events behind it."""
    has_cart = sessions["cart_size"] > 0
    n_carts = int(has_cart.sum())
    ids = pa.array(scrambled_ids(rng, n_carts, "ct_"), pa.string())
    cart_of_session = np.full(sessions["count"], -1)
    cart_of_session[has_cart] = np.arange(n_carts)
    of_order = np.full(orders.count, -1)
    buying_order = sessions["buying_order"]
    of_order[buying_order] = cart_of_session[:len(buying_order)]
    missed = np.flatnonzero((orders.channel < 2) & (of_order < 0))
    extra = pa.array(scrambled_ids(rng, len(missed), "ca_"), pa.string())
    of_order[missed] = n_carts + np.arange(len(missed))
    return OrderCarts(pa.concat_arrays([ids, extra]), of_order), cart_of_session


def _page_dictionary(profile: WorldProfile, catalog: Catalog) -> dict:
    """Pages: home, categories, searches, products, login, checkout pages; and where each kind starts."""
    categories = profile.categories
    slugs = [c[0].split(" > ")[-1].lower().replace(" ", "-").replace("&", "and") for c in categories]
    terms = catalog.search_terms
    paths = (["/"] + [f"/c/{c}" for c in slugs] + [f"/search?q={q.replace(' ', '+')}" for q in terms]
             + [f"/p/{slug}" for slug in catalog.slugs] + ["/login", "/checkout/email"]
             + [p for p, _ in CHECKOUT_PAGES] + ["/checkout/confirmation"])
    titles = (["Voltmarkt – Electronics online"] + [f"{c[0].split(' > ')[-1]} | Voltmarkt" for c in categories]
              + [f"Search: {q} | Voltmarkt" for q in terms] + [f"{name} | Voltmarkt" for name in catalog.names]
              + ["Sign in | Voltmarkt", "Checkout | Voltmarkt"] + [f"{title} | Voltmarkt" for _, title in CHECKOUT_PAGES]
              + ["Thank you for your order | Voltmarkt"])
    search = 1 + len(categories)
    product = search + len(terms)
    login = product + catalog.count
    return dict(paths=paths, titles=titles, category=1, search=search, product=product, login=login,
                checkout=login + 2, confirmation=login + 2 + 4)


def _first_cart_product(cart: dict) -> np.ndarray:
    """Per session: the first product in its cart (any product for a session without a cart)."""
    return cart["product"][np.minimum(cart["first_item"], max(len(cart["product"]) - 1, 0))]


def _event_pages(rng: np.random.Generator, catalog: Catalog, sessions: dict, events: dict, cart: dict,
                 product: np.ndarray, clicks: NewsletterClicks, pages: dict) -> tuple[np.ndarray, np.ndarray]:
    """The page of every event, and the search term of every session (from its first cart item's
    category, or a random one); a newsletter click lands on the product page it links to."""
    n = sessions["count"]
    n_categories = len(catalog.category_first_term)
    category = np.where(sessions["cart_size"] > 0,
                        catalog.category[_first_cart_product(cart)] if len(cart["product"]) else 0,
                        rng.integers(0, n_categories, n))
    term = catalog.category_first_term[category] + (rng.random(n) * catalog.category_term_count[category]).astype(np.int64)
    landing = np.where(rng.random(n) < 0.45, 0, pages["category"] + category)
    landing[sessions["from_email"]] = pages["product"] + clicks.product
    session, part = events["session"], events["part"]
    logged_in = sessions["session_account"][session] >= 0
    page = np.select(
        [part == LANDING, part == SEARCH, (part >= VIEWS) & (part <= REMOVAL), (part == IDENTIFY) & logged_in,
         part == IDENTIFY, part == CHECKOUT, part == COMPLETED],
        [landing[session], pages["search"] + term[session], pages["product"] + product, pages["login"],
         pages["login"] + 1, pages["checkout"] + events["index"], pages["confirmation"]], 0)
    return page, term


def _product_page_variants(rng: np.random.Generator, profile: WorldProfile, catalog: Catalog, sessions: dict,
                           events: dict, cart: dict, page: np.ndarray, pages: dict) -> pa.DictionaryArray:
    """The product-page copy variant on every page call of a product page; a view succeeds when
    the session's cart holds the product (content_variants.py draws the variant given that)."""
    variants = content_variants(rng, catalog.ids.to_pylist(), profile.content_variant_lifts, "copy")
    part = events["part"]
    is_page_call = (part == LANDING) | ((part == VIEWS) & (events["index"] % 2 == 0))
    product_page = is_page_call & (page >= pages["product"]) & (page < pages["product"] + catalog.count)
    viewed = np.where(product_page, page - pages["product"], -1)
    item_session, _ = segments(sessions["cart_size"])
    in_cart = np.isin(events["session"] * catalog.count + viewed, item_session * catalog.count + cart["product"])
    return dictionary_column(shown_variants(rng, variants, viewed, product_page & in_cart), variants.ids)


def _attribution(rng: np.random.Generator, sessions: dict, events: dict, clicks: NewsletterClicks) -> dict:
    """Campaign (paid UTM link or the newsletter), subscriber token and external referrer of each
    session's landing event."""
    n, from_email = sessions["count"], sessions["from_email"]
    campaigns = UTM_CAMPAIGNS + [("newsletter", "email", c, None) for c in clicks.campaign_ids]
    utm = np.where(rng.random(n) < PAID_UTM_P, rng.integers(0, len(UTM_CAMPAIGNS), n), -1)
    utm[from_email] = len(UTM_CAMPAIGNS) + clicks.campaign
    token = np.full(n, -1, dtype=np.int64)
    token[from_email] = clicks.token
    organic = rng.choice(len(ORGANIC_REFERRERS), size=n, p=ORGANIC_REFERRER_P)
    external_referrers = [r for *_, r in campaigns] + ORGANIC_REFERRERS
    referrer = np.where(utm >= 0, utm, len(campaigns) + organic)
    referrer = np.where(np.array([r is None for r in external_referrers])[referrer], -1, referrer)
    landing_event = events["position"] == 0
    session = events["session"]
    return dict(campaigns=campaigns, external_referrers=external_referrers,
                utm=np.where(landing_event, utm[session], -1), token=np.where(landing_event, token[session], -1),
                referrer=np.where(landing_event, referrer[session], -1))


def _identify_traits(rng: np.random.Generator, people: People, sessions: dict, events: dict) -> dict:
    """The user id of events after login; the e-mail (and sometimes phone) an identify carries."""
    session, part = events["session"], events["part"]
    session_account = sessions["session_account"][session]
    user = np.where((session_account >= 0) & (sessions["logged_in_at_start"][session] | (part >= IDENTIFY)),
                    session_account, -1)
    identify = part == IDENTIFY
    person = sessions["person"][session]
    email = np.full(len(session), -1, dtype=np.int64)
    email[identify] = pick_email(rng, person[identify])
    phone = np.full(len(session), -1, dtype=np.int64)
    with_phone = identify & people.has_phone[person] & (rng.random(len(session)) < 0.2)
    phone[with_phone] = pick_phone(rng, person[with_phone])
    return dict(user=user, email=email, phone=phone)


def _event_columns(rng: np.random.Generator, catalog: Catalog, devices: Devices, people: People, orders: Orders,
                   sessions: dict, events: dict, cart: dict, product: np.ndarray, quantity: np.ndarray,
                   cart_of_session: np.ndarray, page: np.ndarray, term: np.ndarray, attribution: dict,
                   traits: dict, pages: dict) -> dict:
    """The event columns; the nested JSON is rendered per file from the index columns (`_page` ...)."""
    session, part, index, at = events["session"], events["part"], events["index"], events["at"]
    is_view = part == VIEWS
    event_type = np.where((part == LANDING) | (is_view & (index % 2 == 0)), 0, np.where(part == IDENTIFY, 2, 1))
    event_name = np.select([part == SEARCH, is_view & (index % 2 == 1), part == ADDS, part == REMOVAL,
                            part == CHECKOUT, part == COMPLETED], [0, 1, 2, 3, 4, 5], -1)
    internal_referrer = np.where(events["position"] > 0, np.concatenate([[0], page[:-1]]), -1)
    price = np.where(product >= 0, catalog.price_at(np.maximum(product, 0), at), -1)
    price = np.where(part == SEARCH, -1, price)
    order = np.maximum(sessions["order"][session], 0)
    # a browser's checkout shows the demo shop's shipping rule for its first cart item
    browse_shipping = (np.where(catalog.first_price[_first_cart_product(cart)][session] >= 5000, 0, 499)
                       if len(cart["product"]) else 499)
    shipping = np.where(sessions["converted"][session], orders.shipping[order], browse_shipping)
    shipping = np.where((part == CHECKOUT) & (index >= 1), shipping, -1)
    device = sessions["device"][session]
    referrer = attribution["referrer"]
    return {
        "message_id": uuid_like(rng, len(session)),
        "type": dictionary_column(event_type, ["page", "track", "identify"]),
        "event": dictionary_column(event_name, EVENT_NAMES),
        "anonymous_id": dictionary_column(device, devices.ids),
        "user_id": dictionary_column(traits["user"], people.account_ids),
        "timestamp": at,
        "_tz": np.where(devices.reports_local_time[device], berlin_offset_minutes(at), 0).astype(np.int16),
        "_page": page.astype(np.int32),
        "_ref": np.where(internal_referrer >= 0, internal_referrer,
                         np.where(referrer >= 0, len(pages["paths"]) + referrer, -1)),
        "_utm": attribution["utm"].astype(np.int32),
        "_sub": attribution["token"].astype(np.int32),
        "_device": device.astype(np.int32),
        "_product": np.where((part >= VIEWS) & (part <= REMOVAL), product, -1).astype(np.int32),
        "_price": np.where(part == SEARCH, -1, price),
        "_quantity": quantity.astype(np.int32),
        "_cart": np.where(np.isin(part, [ADDS, REMOVAL, CHECKOUT, COMPLETED]), cart_of_session[session], -1),
        "_query": np.where(part == SEARCH, term[session], -1).astype(np.int32),
        "_step": np.where(part == CHECKOUT, index + 1, -1).astype(np.int32),
        "_shipping": shipping,
        "_order": np.where(part == COMPLETED, sessions["order"][session], -1),
        "_revenue": np.where(part == COMPLETED, orders.total[order], -1),
        "_email": traits["email"],
        "_phone": traits["phone"],
    }


def _delivered_events(rng: np.random.Generator, window: Window, columns: dict, at: np.ndarray, device: np.ndarray,
                      traits: dict, json: WebEventJson, carts: OrderCarts) -> WebEvents:
    """The events inside the window, a small share delivered twice with the same message_id
    (client retries), and what they show of the visitors."""
    inside = (at >= window.start) & (at < window.end)
    retry = np.flatnonzero(inside & (rng.random(len(at)) < 0.002))
    rows = np.concatenate([np.flatnonzero(inside), retry])
    table = pa.table(columns).take(pa.array(rows))
    rows_at = at[rows]
    table = table.append_column("_day", pa.array(day_of(rows_at)))

    def seen(values: np.ndarray) -> np.ndarray:
        return np.unique(values[rows][values[rows] >= 0])

    return WebEvents(
        table=table, row_order=np.lexsort((rows, rows_at)), json=json, carts=carts,
        devices_seen=np.unique(device[rows]), accounts_seen=seen(traits["user"]), emails_seen=seen(traits["email"]),
        phones_seen=seen(traits["phone"]),
    )
