"""Seeded synthetic landing data for a generated retailer: by default the demo's consumer-electronics
online shop ("Voltmarkt"); `world="us_multichannel"` gives a differently shaped one (see
profile.py for the knobs a retailer is made of, us_multichannel.py for the second retailer).

This module owns the simulated world behind the five source systems and the landing files it
writes: one consistent population of people, devices, accounts, products, locations and the
orders, web sessions, CRM records, tickets, e-mails, reviews, returns and stock movements that
follow from it. Each source only sees its own slice of that world, with the messiness real
sources have (guest checkouts, e-mails typed in another case or with spaces, CRM duplicates,
shared kiosk cookies, retried tracking events, abandoned carts, stock-outs, late shipments).
A newsletter click lands in one of the subscriber's browsers on the clicked link plus the
subscriber token the ESP's click redirect appends (`rcl_sub=<CRM id>`; some landings lose it, one
newsletter went out with an unrendered merge tag), which is how a shop ties many otherwise
anonymous browsers to a CRM record.

What is written follows dagster_project/contracts.py exactly (columns, types, accepted values,
layout `<landing>/<system>/<entity>/<YYYY-MM-DD>.<ext>`, one file per UTC date of the event
time). Besides the landing files it writes `<ground_truth_dir>/identities.parquet`: which
person every identifier seen in the sources belongs to, for scoring identity resolution.

Everything is drawn from one `numpy.random.default_rng(seed)` in a fixed order, arrays are
built vectorised (Python loops run over people, products, days and campaigns, never over
events or orders; only id strings such as 'O1000001' are formatted in comprehensions), rows are sorted before writing and DuckDB writes them in that order
(single-threaded partitioned COPYs), so the same seed and scale give byte-identical files.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dagster_project.contracts import CONTRACTS_BY_NAME, ORDER_CHANNELS, SYSTEMS, SourceEntity
from dagster_project.sample_data.profile import WorldProfile

DAY = 86_400
HOUR = 3_600
NEVER = np.iinfo(np.int64).max // 4  # "no such time"; far beyond any window, safe to add to
SHOP_URL = "https://www.voltmarkt.de"


# ---------------------------------------------------------------------------------- sizes

@dataclass(frozen=True)
class Sizes:
    people: int
    days: int
    products: int
    warehouses: int
    stores: int
    kiosks: int
    # Orders and non-buying web sessions per person and year, before per-person activity.
    orders_per_person_year: float = 9.0
    browse_sessions_per_person_year: float = 7.0
    # Share of the catalog a store carries (warehouse 1 carries everything, the others half).
    store_assortment: float = 0.4


SCALES: dict[str, Sizes] = {
    "small": Sizes(people=2_000, days=120, products=250, warehouses=2, stores=6, kiosks=4),
    "standard": Sizes(people=100_000, days=365, products=20_000, warehouses=3, stores=17, kiosks=12,
                      store_assortment=0.04),
}


def resolve_scale(scale: str | float) -> Sizes:
    if isinstance(scale, str):
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {sorted(SCALES)} or a number, not {scale!r}")
        return SCALES[scale]
    factor = float(scale)
    if factor <= 0:
        raise ValueError("scale must be positive")
    small = SCALES["small"]
    # The catalog grows more slowly than the population below 1 so that tiny test worlds still
    # have every category; the locations stay those of the small shop.
    return replace(small, people=max(50, round(small.people * factor)),
                   products=max(60, round(small.products * factor)))


# ---------------------------------------------------------------------------------- reference data

FIRST_NAMES = {
    "DE": ["Anna", "Lena", "Marie", "Sophie", "Laura", "Julia", "Lea", "Hannah", "Katharina", "Sabine",
           "Jürgen", "Lukas", "Felix", "Jonas", "Leon", "Maximilian", "Paul", "Tobias", "Stefan", "Michael",
           "Thomas", "Andreas", "Sören", "Jörg", "Mehmet", "Ayşe", "Piotr", "Agnieszka", "Elif", "Can"],
    "AT": ["Anna", "Lena", "Valentina", "Theresa", "Florian", "Lukas", "Matthias", "Sebastian", "Katrin", "Johanna"],
    "NL": ["Emma", "Sanne", "Femke", "Anouk", "Daan", "Sem", "Bram", "Lars", "Joost", "Maarten"],
    "FR": ["Camille", "Léa", "Chloé", "Manon", "Lucas", "Hugo", "Théo", "Louis", "Élodie", "François"],
}
LAST_NAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
           "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
           "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Yılmaz", "Kaya", "Nowak", "Kowalski", "Öztürk"],
    "AT": ["Gruber", "Huber", "Bauer", "Wagner", "Pichler", "Steiner", "Moser", "Mayer", "Hofer", "Leitner"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
}
# city, first postcode, postcode span
CITIES = {
    "DE": [("Berlin", 10115, 3000), ("Hamburg", 20095, 2500), ("München", 80331, 1700), ("Köln", 50667, 1200),
           ("Frankfurt am Main", 60306, 700), ("Stuttgart", 70173, 450), ("Düsseldorf", 40210, 420),
           ("Leipzig", 4103, 260), ("Dortmund", 44135, 250), ("Essen", 45127, 230), ("Bremen", 28195, 600),
           ("Dresden", 1067, 260), ("Hannover", 30159, 500), ("Nürnberg", 90402, 100), ("Bonn", 53111, 120),
           ("Münster", 48143, 30), ("Kassel", 34117, 14), ("Freiburg im Breisgau", 79098, 13)],
    "AT": [("Wien", 1010, 220), ("Graz", 8010, 50), ("Linz", 4020, 30), ("Salzburg", 5020, 20), ("Innsbruck", 6020, 20)],
    "NL": [("Amsterdam", 1011, 98), ("Rotterdam", 3011, 88), ("Utrecht", 3511, 75), ("Den Haag", 2511, 80),
           ("Eindhoven", 5611, 46)],
    "FR": [("Paris", 75001, 19), ("Lyon", 69001, 8), ("Marseille", 13001, 15), ("Strasbourg", 67000, 200),
           ("Lille", 59000, 800)],
}
STREETS = {
    "DE": ["Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schillerstraße", "Goethestraße", "Lindenweg",
           "Am Markt", "Bergstraße", "Kirchstraße", "Waldstraße", "Ringstraße", "Friedrichstraße", "Mozartstraße"],
    "AT": ["Mariahilfer Straße", "Landstraßer Hauptstraße", "Herrengasse", "Hauptplatz", "Bahnhofstraße"],
    "NL": ["Kerkstraat", "Dorpsstraat", "Prinsengracht", "Molenweg", "Stationsweg"],
    "FR": ["Rue de la Paix", "Avenue Victor Hugo", "Rue Pasteur", "Boulevard Voltaire", "Rue de la République"],
}
COUNTRIES = ("DE", "AT", "NL", "FR")
COUNTRY_P = (0.80, 0.08, 0.07, 0.05)
EMAIL_DOMAINS = {
    "DE": ["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.com", "yahoo.de", "icloud.com", "posteo.de"],
    "AT": ["gmail.com", "gmx.at", "aon.at", "outlook.com"],
    "NL": ["gmail.com", "ziggo.nl", "hotmail.nl", "outlook.com"],
    "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net"],
}
PHONE_PREFIXES = {"DE": ("+49", ["151", "152", "160", "162", "170", "171", "176", "177"]),
                  "AT": ("+43", ["660", "664", "676", "699"]),
                  "NL": ("+31", ["6"]), "FR": ("+33", ["6", "7"])}
JUNK_EMAILS = ["test@example.com", "noemail@none.invalid", "kein@kunde.de"]
# How an e-mail gets typed: as registered, Title.Case, UPPER, leading space, trailing space.
EMAIL_VARIANT_P = np.array([0.86, 0.06, 0.02, 0.03, 0.03])
N_EMAIL_VARIANTS = 5
N_PHONE_VARIANTS = 3  # +4915112345678, +49 151 12345678, 0151 12345678

# Leaf category, share of the catalog, popularity weight, price range (EUR), brands, name noun,
# specs {key: options}, search terms, returns often "defective".
CATEGORIES = [
    ("TV & Video > TVs > OLED", 0.05, 1.0, (899, 3499), ["LG", "Sony", "Samsung", "Philips", "Panasonic"],
     '{screen_size_in}" OLED TV', {"screen_size_in": [42, 48, 55, 65, 77], "resolution": ["4K"], "panel": ["OLED"],
                                 "hdr": ["Dolby Vision", "HDR10+"], "refresh_hz": [100, 120, 144]},
     ["oled tv", "4k tv 55", "oled 65 zoll", "lg oled", "fernseher 55 zoll"], False),
    ("TV & Video > TVs > LED", 0.07, 1.5, (249, 1499), ["Samsung", "LG", "TCL", "Hisense", "Philips"],
     '{screen_size_in}" {panel} TV', {"screen_size_in": [32, 43, 50, 55, 65, 75], "resolution": ["4K", "Full HD"],
                                     "panel": ["LED", "QLED"], "hdr": ["HDR10", "HDR10+"], "refresh_hz": [50, 60, 120]},
     ["4k tv 55", "fernseher", "qled tv", "tv 43 zoll", "smart tv"], False),
    ("TV & Video > Projectors", 0.02, 0.3, (349, 2499), ["Epson", "BenQ", "XGIMI", "Optoma"],
     "{resolution} Projector", {"resolution": ["4K", "Full HD"], "lumens": [1500, 2200, 3000, 3600], "laser": [True, False]},
     ["beamer", "projector 4k", "heimkino beamer"], False),
    ("Audio > Headphones > Over-ear", 0.07, 2.0, (79, 549), ["Sony", "Bose", "Sennheiser", "Apple", "JBL"],
     "Wireless Over-ear Headphones", {"wireless": [True, True, False], "noise_cancelling": [True, False],
                                      "battery_hours": [20, 30, 40, 60], "colour": ["black", "silver", "blue"]},
     ["noise cancelling headphones", "bluetooth kopfhörer", "over ear headphones", "sony wh-1000xm5"], False),
    ("Audio > Headphones > In-ear", 0.07, 2.5, (29, 299), ["Apple", "Samsung", "Sony", "JBL", "Jabra"],
     "True Wireless Earbuds", {"wireless": [True], "noise_cancelling": [True, False], "battery_hours": [5, 6, 8, 10],
                               "water_resistance": ["IPX4", "IP55", "IP57"]},
     ["airpods", "in ear kopfhörer", "wireless earbuds", "earbuds noise cancelling"], True),
    ("Audio > Speakers > Bluetooth", 0.05, 1.2, (39, 399), ["JBL", "Bose", "Ultimate Ears", "Marshall", "Sony"],
     "Portable Bluetooth Speaker", {"battery_hours": [10, 12, 20, 24], "water_resistance": ["IP67", "IPX7", "none"],
                                    "stereo_pairing": [True, False]},
     ["bluetooth speaker", "jbl charge", "outdoor lautsprecher"], True),
    ("Audio > Soundbars", 0.04, 0.7, (199, 999), ["Sonos", "Samsung", "Bose", "Sony", "Yamaha"],
     "{channels} Soundbar", {"channels": ["2.1", "3.1", "5.1.2", "7.1.4"], "dolby_atmos": [True, False],
                            "subwoofer": [True, False]},
     ["soundbar", "soundbar dolby atmos", "sonos arc"], False),
    ("Phones > Smartphones", 0.07, 2.0, (199, 1599), ["Apple", "Samsung", "Google", "Xiaomi", "OnePlus", "Motorola"],
     "{storage_gb} GB Smartphone", {"storage_gb": [128, 256, 512], "screen_size_in": [6.1, 6.3, 6.7, 6.8],
                                   "camera_mp": [12, 48, 50, 200], "5g": [True, True, False], "colour": ["black", "white", "green"]},
     ["iphone 15", "samsung galaxy s24", "smartphone 5g", "handy ohne vertrag", "pixel 8"], False),
    ("Computers > Laptops", 0.07, 1.3, (449, 2999), ["Apple", "Lenovo", "HP", "Dell", "ASUS", "Acer"],
     '{screen_size_in}" Laptop {ram_gb} GB', {"ram_gb": [8, 16, 32], "storage_gb": [256, 512, 1024],
                                             "cpu": ["Intel Core i5", "Intel Core i7", "AMD Ryzen 7", "Apple M3"],
                                             "screen_size_in": [13.3, 14, 15.6, 16], "weight_kg": [1.2, 1.4, 1.7, 2.1]},
     ["laptop 16gb ram", "macbook air", "gaming laptop", "notebook 15 zoll", "thinkpad"], False),
    ("Computers > Monitors", 0.05, 0.9, (129, 999), ["Dell", "LG", "Samsung", "ASUS", "BenQ"],
     '{screen_size_in}" Monitor', {"screen_size_in": [24, 27, 32, 34], "resolution": ["Full HD", "QHD", "4K"],
                                  "refresh_hz": [60, 144, 165, 240], "panel": ["IPS", "VA", "OLED"]},
     ["monitor 27 zoll", "4k monitor", "gaming monitor 144hz", "usb-c monitor"], False),
    ("Computers > Tablets", 0.04, 0.9, (199, 1299), ["Apple", "Samsung", "Lenovo", "Xiaomi"],
     '{screen_size_in}" Tablet', {"storage_gb": [64, 128, 256, 512], "screen_size_in": [10.9, 11, 12.4, 13],
                                 "cellular": [True, False]},
     ["ipad", "tablet", "galaxy tab", "android tablet"], False),
    ("Smart Home > Speakers", 0.04, 1.0, (39, 299), ["Amazon", "Google", "Apple", "Sonos"],
     "Smart Speaker", {"voice_assistant": ["Alexa", "Google Assistant", "Siri"], "wifi": [True], "display": [True, False]},
     ["smart speaker", "echo dot", "alexa lautsprecher", "homepod"], False),
    ("Smart Home > Lighting", 0.05, 1.0, (15, 199), ["Philips Hue", "IKEA", "Nanoleaf", "Govee"],
     "Smart Light {fitting}", {"fitting": ["E27", "GU10", "Strip"], "colour": [True, False], "zigbee": [True, False]},
     ["hue lampe", "smart light bulb", "led strip"], False),
    ("Cameras > Mirrorless", 0.04, 0.5, (599, 3499), ["Sony", "Canon", "Nikon", "Fujifilm"],
     "Mirrorless Camera Body", {"sensor": ["Full Frame", "APS-C"], "megapixels": [24, 26, 33, 45, 61],
                                "video": ["4K", "6K", "8K"], "ibis": [True, False]},
     ["systemkamera", "sony alpha", "mirrorless camera", "vlog camera"], False),
    ("Gaming > Consoles", 0.02, 1.0, (249, 549), ["Sony", "Nintendo", "Microsoft"],
     "Game Console {storage_gb} GB", {"storage_gb": [64, 512, 1000, 2000], "disc_drive": [True, False]},
     ["ps5", "nintendo switch", "xbox series x", "konsole"], False),
    ("Wearables > Smartwatches", 0.04, 1.1, (129, 899), ["Apple", "Samsung", "Garmin", "Google"],
     "Smartwatch", {"battery_days": [1, 2, 7, 14], "gps": [True, False], "case_mm": [41, 44, 45, 47]},
     ["smartwatch", "apple watch", "garmin forerunner", "fitness tracker"], True),
    ("Accessories > Chargers", 0.10, 3.0, (15, 79), ["Anker", "Belkin", "Apple", "Samsung", "Ugreen"],
     "{watts} W USB-C Charger", {"watts": [20, 30, 45, 65, 100], "ports": [1, 2, 3], "gan": [True, False]},
     ["usb-c charger", "ladegerät 65w", "schnellladegerät", "iphone ladegerät"], True),
    ("Accessories > Cables", 0.08, 2.5, (8, 39), ["Anker", "Belkin", "Ugreen", "Apple"],
     "{connector} Cable {length_m} m", {"connector": ["USB-C to USB-C", "USB-C to Lightning", "HDMI 2.1"],
                                       "length_m": [0.5, 1, 2, 3]},
     ["usb c kabel", "hdmi kabel", "lightning kabel"], True),
    ("Accessories > Cases", 0.03, 1.5, (15, 59), ["Spigen", "OtterBox", "Apple", "Samsung"],
     "Protective Case", {"material": ["silicone", "leather", "TPU"], "magsafe": [True, False]},
     ["handyhülle", "iphone case", "magsafe case"], False),
]
DEFECT_PRONE_P = np.array([0.35, 0.15, 0.25, 0.08, 0.07, 0.10])
DEFAULT_REASON_P = np.array([0.14, 0.15, 0.40, 0.07, 0.09, 0.15])
RETURN_REASONS = CONTRACTS_BY_NAME["oms__returns"].column("reason").accepted_values
ACCESSORY_CATS = {"Accessories > Chargers", "Accessories > Cables", "Accessories > Cases"}

WAREHOUSES = [("Kassel", 51.3127, 9.4797), ("Erfurt", 50.9848, 11.0299), ("Dortmund", 51.5136, 7.4653),
              ("Leipzig", 51.3397, 12.3731)]
STORES = [("Berlin", 52.5200, 13.4050), ("Hamburg", 53.5511, 9.9937), ("München", 48.1351, 11.5820),
          ("Köln", 50.9375, 6.9603), ("Frankfurt am Main", 50.1109, 8.6821), ("Stuttgart", 48.7758, 9.1829),
          ("Düsseldorf", 51.2277, 6.7735), ("Leipzig", 51.3397, 12.3731), ("Dortmund", 51.5136, 7.4653),
          ("Essen", 51.4556, 7.0116), ("Bremen", 53.0793, 8.8017), ("Dresden", 51.0504, 13.7373),
          ("Hannover", 52.3759, 9.7320), ("Nürnberg", 49.4521, 11.0767), ("Bonn", 50.7374, 7.0982),
          ("Münster", 51.9607, 7.6261), ("Mannheim", 49.4875, 8.4660), ("Karlsruhe", 49.0069, 8.4037),
          ("Augsburg", 48.3705, 10.8978), ("Wiesbaden", 50.0782, 8.2398)]

USER_AGENTS = {
    "desktop": ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:130.0) Gecko/20100101 Firefox/130.0",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"],
    "mobile": ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
               "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36",
               "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Mobile Safari/537.36"],
    "tablet": ["Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
               "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36"],
    "app": ["Voltmarkt/4.12.1 (iOS 17.6; iPhone15,2)", "Voltmarkt/4.12.0 (Android 14; SM-S921B)",
            "Voltmarkt/4.11.3 (iOS 17.5; iPhone14,5)"],
}
DEVICE_TYPES = ["desktop", "mobile", "tablet"]
APP_VERSIONS = ["4.12.1", "4.12.0", "4.11.3"]
# source, medium, campaign name, referrer shown on the landing page. Newsletter traffic is not drawn
# at random: it is the landing sessions of the newsletter's clicks (see build_web).
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
# The ESP's click redirect appends the subscriber (the CRM record the e-mail went to) to every
# newsletter link: ...&rcl_sub=CRM1000123. Some landings lose it (privacy extensions and
# link-scanning proxies strip query parameters) or carry a junk value (a template whose merge tag
# was not rendered, an empty tag).
SUBSCRIBER_PARAM = "rcl_sub"
JUNK_SUBSCRIBER_TOKENS = ["*|SUB_ID|*", "", "null"]
SUBSCRIBER_TOKEN_STRIPPED_P = 0.04
SUBSCRIBER_TOKEN_EMPTY_P = 0.01

EVENT_NAMES = ["Products Searched", "Product Viewed", "Product Added", "Product Removed",
               "Checkout Step Viewed", "Order Completed"]
CHECKOUT_PAGES = [("/checkout/cart", "Cart"), ("/checkout/shipping", "Shipping"), ("/checkout/payment", "Payment"),
                  ("/checkout/review", "Review your order")]

REVIEW_TEXT = {
    1: [("Broke after a week", "Stopped working after a few days. Very disappointed."),
        ("Do not buy", "Did not work properly out of the box, had to send it back.")],
    2: [("Not great", "Works, but the quality is not what I expected for the price."),
        ("Meh", "Connection drops regularly and the app is clumsy.")],
    3: [("Okay", "Does the job. Nothing special, nothing bad."),
        ("Average", "Decent for the price, setup took longer than expected.")],
    4: [("Very good", "Very good quality, fast delivery. One star off for the packaging."),
        ("Happy with it", "Works well, easy setup, would buy again.")],
    5: [("Excellent!", "Absolutely love it. Great quality and super fast delivery."),
        ("Top product", "Exactly as described, works perfectly. Highly recommended."),
        ("Perfect", "Best purchase this year, does everything I wanted.")],
}

# The demo shop: a German consumer-electronics web shop with stores.
VOLTMARKT = WorldProfile(
    name="default", shop_url=SHOP_URL, currency="EUR", countries=COUNTRIES, country_p=COUNTRY_P,
    first_names=FIRST_NAMES, last_names=LAST_NAMES, cities=CITIES, streets=STREETS, email_domains=EMAIL_DOMAINS,
    phone_prefixes=PHONE_PREFIXES, junk_emails=tuple(JUNK_EMAILS), categories=CATEGORIES,
    accessory_categories=frozenset(ACCESSORY_CATS), warehouses=WAREHOUSES, stores=STORES,
    warehouse_name="Voltmarkt Logistikzentrum {city}", store_name="Voltmarkt {city}",
)


def _profiles() -> dict[str, WorldProfile]:
    from dagster_project.sample_data.us_multichannel import US_MULTICHANNEL

    return {"default": VOLTMARKT, US_MULTICHANNEL.name: US_MULTICHANNEL}


def resolve_world(world: str | WorldProfile) -> WorldProfile:
    if isinstance(world, WorldProfile):
        return world
    profiles = _profiles()
    if world not in profiles:
        raise ValueError(f"unknown sample world {world!r}; known: {', '.join(sorted(profiles))}")
    return profiles[world]


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ê": "e", "ë": "e",
                       "ç": "c", "ı": "i", "ş": "s", "ğ": "g", "ó": "o", "ł": "l", " ": "", "'": ""})


# ---------------------------------------------------------------------------------- small helpers

def _cat(idx: np.ndarray, dictionary) -> pa.DictionaryArray:
    """Dictionary-encoded string column: cheap to build from index arrays; idx < 0 is null."""
    idx = np.asarray(idx)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(list(dictionary), pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _opt(values: np.ndarray, mask: np.ndarray) -> pa.Array:
    """Numeric column with nulls where mask is True."""
    return pa.array(values, mask=mask if mask.any() else None)


def _hex_ids(raw: np.ndarray, dashes: bool) -> pa.Array:
    """Format rows of random bytes (n, k) as lowercase hex strings, optionally UUID-shaped."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    n, k = raw.shape
    chars = np.empty((n, 2 * k), dtype=np.uint8)
    chars[:, 0::2] = digits[raw >> 4]
    chars[:, 1::2] = digits[raw & 15]
    if dashes:  # 8-4-4-4-12
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        chars = np.hstack([chars[:, :8], dash, chars[:, 8:12], dash, chars[:, 12:16], dash,
                           chars[:, 16:20], dash, chars[:, 20:]])
    width = chars.shape[1]
    buf = pa.py_buffer(np.ascontiguousarray(chars).tobytes())
    return pa.Array.from_buffers(pa.binary(width), n, [None, buf]).cast(pa.string())


def _uuid_like(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # looks like a version-4 UUID, but comes from the seeded RNG
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return _hex_ids(raw, dashes=True)


def _scrambled_ids(rng: np.random.Generator, n: int, prefix: str, nbytes: int = 5) -> list[str]:
    """Unique random-looking ids: an odd multiplier is a bijection modulo 2**bits."""
    bits = 8 * nbytes
    mult = int(rng.integers(1, 2**31)) * 2 + 1
    salt = int(rng.integers(0, 2**31))
    idx = rng.permutation(n).astype(object)
    return [f"{prefix}{(int(i) * mult + salt) % (1 << bits):0{2 * nbytes}x}" for i in idx]


def _seq_ids(prefix: str, n: int, width: int, start: int = 1) -> pa.Array:
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(start, start + n)], pa.string())


def _berlin_offset_minutes(t: np.ndarray) -> np.ndarray:
    """UTC offset of Europe/Berlin (CET/CEST) at epoch seconds t."""
    years = t.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    out = np.full(len(t), 60, dtype=np.int16)
    for year in np.unique(years):
        def last_sunday(month: int) -> int:
            d = date(int(year), month + 1, 1) - timedelta(days=1)
            d -= timedelta(days=(d.weekday() + 1) % 7)
            return int(datetime(d.year, d.month, d.day, 1, tzinfo=timezone.utc).timestamp())
        sel = (years == year) & (t >= last_sunday(3)) & (t < last_sunday(10))
        out[sel] = 120
    return out


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of sizes `counts`: the group of every element and its position in the group."""
    counts = np.asarray(counts, dtype=np.int64)
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(group)) - starts[group]
    return group, pos


def _last_per_day(key: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Mask of the last version per key and UTC day (rows sorted by key, then time): an upsert
    file carries a record's state at the end of its day, once."""
    day = t // DAY
    nxt_same = np.zeros(len(key), bool)
    nxt_same[:-1] = (key[1:] == key[:-1]) & (day[1:] == day[:-1])
    return ~nxt_same


def _money_round(x: np.ndarray) -> np.ndarray:
    return np.rint(x).astype(np.int64)


# ---------------------------------------------------------------------------------- writing

class _Writer:
    """Writes one contract's rows as one file per UTC date, in a fixed row order.

    DuckDB writes the days of an entity with partitioned COPYs (one file per `_day`). With a
    single thread it streams the pre-sorted rows in order, which keeps the files byte-identical
    between runs (a multi-threaded partitioned COPY interleaves rows differently each run). Rows
    go in chunks of whole days, so that the rendered JSON of 10M web events never has to be in
    memory at once."""

    CHUNK_ROWS = 400_000

    def __init__(self, landing_dir: Path):
        self.landing_dir = landing_dir
        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET preserve_insertion_order = true")
        self.con.execute("SET threads = 1")

    def write(self, contract: SourceEntity, table: pa.Table, order: np.ndarray | None = None,
              render: "_WebJson | None" = None) -> int:
        """`table` holds the contract columns (money in integer cents, timestamps in epoch
        seconds, JSON as text) plus `_day` (UTC days since epoch = the file) and optionally
        `_tz` (offset minutes to show timestamps in). `order` sorts the rows before writing;
        `render` adds the JSON columns it names to each chunk."""
        if order is not None:
            table = table.take(pa.array(order))
        day = table.column("_day").to_numpy()
        if len(day) and np.any(np.diff(day) < 0):
            raise AssertionError(f"{contract.name}: rows not sorted by file date")
        rendered = set(render.columns) if render else set()
        select = ", ".join(self._expr(col, table, rendered) for col in contract.columns)
        fmt = "FORMAT json" if contract.format == "jsonl" else "FORMAT csv, HEADER, DELIMITER ',', QUOTE '\"'"
        folder = self.landing_dir / contract.system / contract.entity
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / ".partitions"
        # chunks of whole days
        _, first = np.unique(day, return_index=True)
        cuts, start = [], 0
        for f in list(first[1:]) + [len(day)]:
            if f - start >= self.CHUNK_ROWS or f == len(day):
                cuts.append((start, f))
                start = f
        for lo, hi in cuts:
            part = table.slice(lo, hi - lo)
            if render is not None:
                for name, values in render(part).items():
                    part = part.append_column(name, values)
            shutil.rmtree(staging, ignore_errors=True)
            self.con.register("_rows", part)
            self.con.execute(f"COPY (SELECT {select}, _day FROM _rows) TO '{staging}' "
                             f"({fmt}, PARTITION_BY (_day), OVERWRITE)")
            self.con.unregister("_rows")
            for partition in sorted(staging.iterdir()):
                files = list(partition.iterdir())
                if len(files) != 1:
                    raise AssertionError(f"{contract.name}: expected one file in {partition}, got {len(files)}")
                d = date(1970, 1, 1) + timedelta(days=int(partition.name.split("=", 1)[1]))
                files[0].rename(folder / f"{d}.{contract.extension}")
        shutil.rmtree(staging, ignore_errors=True)
        return table.num_rows

    @staticmethod
    def _expr(col, table: pa.Table, rendered: set[str]) -> str:
        name = f'"{col.name}"'
        if col.name not in table.column_names and col.name not in rendered:
            return f"NULL::{'VARCHAR' if col.type == 'JSON' else col.type} AS {name}"
        if col.type.startswith("DECIMAL"):
            expr = f"({name}::DECIMAL(18,0) * 0.01)::{col.type}"
        elif col.is_timestamp:
            expr = _ts_sql(name, "_tz" in table.column_names)
        elif col.type == "JSON":
            expr = f"{name}::JSON"
        elif col.type == "DATE":
            expr = f"{name}::DATE"
        else:
            expr = f"{name}::{col.type}"
        return f"{expr} AS {name}"


def _ts_sql(col: str, with_tz: bool) -> str:
    """ISO 8601 with offset: 'Z' for UTC, '+01:00'/'+02:00' where the row's `_tz` says so."""
    utc = f"strftime(make_timestamp({col} * 1000000), '%Y-%m-%dT%H:%M:%SZ')"
    if not with_tz:
        return utc
    local = (f"strftime(make_timestamp(({col} + _tz * 60) * 1000000), '%Y-%m-%dT%H:%M:%S') "
             f"|| printf('+%02d:%02d', _tz // 60, _tz % 60)")
    return f"CASE WHEN _tz = 0 OR _tz IS NULL THEN {utc} ELSE {local} END"


class _WebJson:
    """Renders the nested context/properties/traits objects of web events.

    Everything that repeats (a page, a device, a product, a cart, an e-mail) is rendered to a
    JSON fragment once per dictionary entry; a row is then only the Arrow concatenation of its
    fragments, which is much cheaper than building ~12M objects in SQL."""

    def __init__(self, world: "_World", pages: list[str], titles: list[str], ext_refs: list[str | None],
                 campaigns: list[tuple[str, str, str, str | None]], sub_tokens: list[str]):
        j = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
        self.page_head = pa.array([f'{{"page":{{"path":{j(p)},"url":"{SHOP_URL}{j(p)[1:-1]}' for p in pages])
        self.page_title = pa.array([f'","title":{j(t)}' for t in titles])
        self.ref = pa.array([f',"referrer":{j(SHOP_URL + p)}' for p in pages]
                            + [f',"referrer":{j(r)}' if r else "" for r in ext_refs])
        self.utm_qs = pa.array([f"?utm_source={a}&utm_medium={b}&utm_campaign={c}" for a, b, c, _ in campaigns])
        self.campaign = pa.array([',"campaign":' + j({"source": a, "medium": b, "name": c})
                                  for a, b, c, _ in campaigns])
        # the landing URL's subscriber parameter (after the UTM parameters of a newsletter link)
        self.sub = pa.array([f"&{SUBSCRIBER_PARAM}={j(t)[1:-1]}" for t in sub_tokens], pa.string())
        ua = world.ua_dict.to_pylist()
        ip = world.ip_dict.to_pylist()
        dtype = np.where(world.dev_is_app, 1, world.dev_type)
        self.device = pa.array([
            f'"device":{{"type":"{DEVICE_TYPES[dtype[d]]}"}},"user_agent":{j(ua[world.dev_ua[d]])},"ip":"{ip[d]}"'
            + (f',"app":{{"version":"{APP_VERSIONS[world.dev_app_version[d]]}"}}' if world.dev_is_app[d] else "")
            for d in range(len(world.dev_person))])
        # object members carry a leading comma; _object drops the first one
        self.product = pa.array([f',"product_id":"{p}"' for p in world.p_ids.to_pylist()])
        self.cart = pa.array([f',"cart_id":"{c}"' for c in world.cart_ids.to_pylist()])
        self.query = pa.array([f',"query":{j(q)}' for q in world.terms])
        self.order = pa.array([f',"order_id":"{o}"' for o in world.o_ids.to_pylist()])
        self.email = pa.array([f',"email":{j(e)}' for e in world.email_variants.to_pylist()])
        self.phone = pa.array([f',"phone":{j(p)}' for p in world.phone_variants.to_pylist()])

    @staticmethod
    def _take(fragments: pa.Array, idx: np.ndarray) -> pa.Array:
        mask = idx < 0
        return fragments.take(pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None))

    @staticmethod
    def _number(key: str, values: np.ndarray, cents: bool) -> pa.Array:
        mask = values < 0
        v = np.maximum(values, 0)
        if cents:
            text = pc.binary_join_element_wise(pc.cast(pa.array(v // 100), pa.string()),
                                               pc.utf8_lpad(pc.cast(pa.array(v % 100), pa.string()), 2, "0"), ".")
        else:
            text = pc.cast(pa.array(v), pa.string())
        text = pc.binary_join_element_wise(f',"{key}":', text, "")
        return pc.if_else(pa.array(mask), pa.nulls(len(v), pa.string()), text)

    @staticmethod
    def _object(parts: list[pa.Array], n: int) -> pa.Array:
        body = pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
        wrapped = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 1), "}", "")
        return pc.if_else(pc.equal(body, ""), pa.nulls(n, pa.string()), wrapped)

    def __call__(self, part: pa.Table) -> dict[str, pa.Array]:
        col = {name: part.column(name).combine_chunks().to_numpy() for name in part.column_names
               if name.startswith("_") and name not in ("_day", "_tz")}
        n = part.num_rows
        context = pc.binary_join_element_wise(
            self._take(self.page_head, col["_page"]), self._take(self.utm_qs, col["_utm"]),
            self._take(self.sub, col["_sub"]), self._take(self.page_title, col["_page"]),
            self._take(self.ref, col["_ref"]), "},",
            self._take(self.device, col["_device"]), self._take(self.campaign, col["_utm"]), "}", "",
            null_handling="replace", null_replacement="")
        properties = self._object([
            self._take(self.product, col["_product"]), self._number("price", col["_price"], True),
            self._number("quantity", col["_quantity"], False), self._take(self.cart, col["_cart"]),
            self._take(self.query, col["_query"]), self._number("step", col["_step"], False),
            self._number("shipping_amount", col["_shipping"], True), self._take(self.order, col["_order"]),
            self._number("revenue", col["_revenue"], True),
            pc.if_else(pa.array(col["_revenue"] >= 0), ',"currency":"EUR"', pa.nulls(n, pa.string())),
        ], n)
        traits = self._object([self._take(self.email, col["_email"]), self._take(self.phone, col["_phone"])], n)
        return {"context": context, "properties": properties, "traits": traits}

    columns = ("context", "properties", "traits")


# ---------------------------------------------------------------------------------- the world

class _World:
    def __init__(self, sizes: Sizes, seed: int, end_date: date, profile: WorldProfile = VOLTMARKT):
        self.pf = profile
        if profile.orders_per_person_year is not None:
            sizes = replace(sizes, orders_per_person_year=profile.orders_per_person_year)
        self.s = sizes
        self.rng = np.random.default_rng(seed)
        self.end_date = end_date
        self.start_date = end_date - timedelta(days=sizes.days - 1)
        self.t0 = int(datetime(self.start_date.year, self.start_date.month, self.start_date.day,
                               tzinfo=timezone.utc).timestamp())
        self.t_end = self.t0 + sizes.days * DAY  # exclusive
        self.day0 = self.t0 // DAY
        self.gt: list[tuple[np.ndarray, str, pa.Array]] = []  # (person idx, type, values) for ground truth
        # What the sources without web analytics or reviews contribute to the ground truth: nothing.
        none = np.zeros(0, dtype=np.int64)
        self.web_devices_seen = self.web_users_seen = self.web_emails_seen = self.web_phones_seen = none
        self.review_accts = self.ret_other_accts = none

    # -------------------------------------------------------------- time
    def random_times(self, n: int, lo: np.ndarray | int | None = None, hi: np.ndarray | int | None = None) -> np.ndarray:
        """Times with a shop's daily rhythm (quiet nights, busy evenings) in [lo, hi)."""
        rng = self.rng
        hour_w = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4.5, 5, 5.5, 6, 6, 5.8, 5.8,
                           6.2, 7, 8, 8.5, 8, 6, 4, 2], dtype=float)
        if self.pf.utc_hour_shift:
            hour_w = np.roll(hour_w, self.pf.utc_hour_shift)
        hours = rng.choice(24, size=n, p=hour_w / hour_w.sum())
        secs = hours * HOUR + rng.integers(0, HOUR, size=n)
        lo = self.t0 if lo is None else lo
        hi = self.t_end if hi is None else hi
        lo_day = (np.asarray(lo) - self.t0) // DAY
        hi_day = (np.asarray(hi) - 1 - self.t0) // DAY
        day = lo_day + np.floor(rng.random(n) * (hi_day - lo_day + 1)).astype(np.int64)
        t = self.t0 + day * DAY + secs
        return np.clip(t, lo, np.asarray(hi) - 1)

    def day_of(self, t: np.ndarray) -> np.ndarray:
        return (t // DAY).astype(np.int32)

    # -------------------------------------------------------------- people
    def build_people(self) -> None:
        s, rng = self.s, self.rng
        n = s.people
        self.n = n
        pf = self.pf
        country = rng.choice(len(pf.countries), size=n, p=pf.country_p)
        u = rng.random((n, 10))
        first, last, city, postcode, street, emails, phones, has_phone = [], [], [], [], [], [], [], []
        city_row = []
        for i in range(n):  # per person, not per event: string building is clearer in Python
            c = pf.countries[country[i]]
            fn = pf.first_names[c][int(u[i, 0] * len(pf.first_names[c]))]
            ln = pf.last_names[c][int(u[i, 1] * len(pf.last_names[c]))]
            row = pf.cities[c][int(u[i, 2] ** 1.6 * len(pf.cities[c]))]
            city_row.append(row)
            cname, pc0, span = row[:3]
            pc = pc0 + int(u[i, 3] * span)
            if c == "NL":
                postcode.append(f"{pc} {chr(65 + int(u[i, 4] * 26))}{chr(65 + int(u[i, 5] * 26))}")
            else:
                postcode.append(f"{pc:05d}" if c in ("DE", "FR", "US") else f"{pc:04d}")
            st = pf.streets[c][int(u[i, 4] * len(pf.streets[c]))]
            no = 1 + int(u[i, 5] * 120)
            if c == "US":  # house numbers run into the thousands
                no = 100 + int(u[i, 5] * 9800)
            street.append(f"{no} {st}" if c in pf.street_number_first else f"{st} {no}")
            f, l_ = fn.lower().translate(_FOLD), ln.lower().translate(_FOLD)
            pattern = int(u[i, 6] * 6)
            local = [f"{f}.{l_}", f"{f}{l_}", f"{f[0]}.{l_}", f"{f}_{l_}",
                     f"{f}.{l_}{int(u[i, 7] * 90) + 10}", f"{f}{int(u[i, 7] * 9000) + 1000}"][pattern]
            domains = pf.email_domains[c]
            emails.append(f"{local}@{domains[int(u[i, 8] ** 1.5 * len(domains))]}")
            first.append(fn)
            last.append(ln)
            city.append(cname)
            has_phone.append(u[i, 9] < 0.7)
        # E-mails are unique per person: a clash gets a number, as the mail provider would insist.
        seen: dict[str, int] = {}
        for i, e in enumerate(emails):
            if e in seen:
                local, domain = e.split("@")
                k = 2
                while f"{local}{k}@{domain}" in seen:
                    k += 1
                e = f"{local}{k}@{domain}"
                emails[i] = e
            seen[e] = i
        variants = []
        for e in emails:
            local, domain = e.split("@")
            variants += [e, f"{local.title()}@{domain}", e.upper(), f" {e}", f"{e} "]
        digits = rng.integers(0, 10, size=(n, 9))
        prefix_u = rng.random(n)
        phone_variants = []
        for i in range(n):
            if pf.phone_style == "nanp":
                # area code of the person's city; exchange 2xx-9xx; as people write them down
                codes = city_row[i][4]
                area = codes[int(prefix_u[i] * len(codes))]
                exchange = f"{2 + digits[i, 0] % 8}{digits[i, 1]}{digits[i, 2]}"
                line = "".join(map(str, digits[i, 3:7]))
                phone_variants += [f"({area}) {exchange}-{line}", f"{area}.{exchange}.{line}",
                                   f"+1 {area} {exchange} {line}"]
                continue
            cc, prefixes = pf.phone_prefixes[pf.countries[country[i]]]
            p = prefixes[int(prefix_u[i] * len(prefixes))]
            num = "".join(map(str, digits[i, : (8 if len(p) == 1 else 7 + (i % 2))]))
            phone_variants += [f"{cc}{p}{num}", f"{cc} {p} {num}", f"0{p} {num}"]
        self.country = country
        self.first_names = pa.array(first, pa.string())
        self.last_names = pa.array(last, pa.string())
        self.cities = pa.array(city, pa.string())
        self.postcodes = pa.array(postcode, pa.string())
        self.streets = pa.array(street, pa.string())
        self.email_variants = pa.array(variants + list(pf.junk_emails), pa.string())
        # region and sales-tax rate of the person's city, where the profile has them
        self.regions = (pa.array([r[3] for r in city_row], pa.string())
                        if any(len(r) > 3 for r in city_row) else None)
        self.person_tax = np.array([r[5] if len(r) > 5 else 0.0 for r in city_row])
        self.junk_email0 = n * N_EMAIL_VARIANTS
        self.phone_variants = pa.array(phone_variants, pa.string())
        self.has_phone = np.array(has_phone)
        self.birth_year = np.clip(np.rint(rng.normal(1984, 13, n)), 1940, 2007).astype(np.int32)
        # Activity: most people buy rarely, a few very often; some only browse.
        act = rng.gamma(0.8, 1 / 0.8, n)
        self.order_activity = act * (rng.random(n) > 0.15)
        self.browse_activity = 0.5 * act + 0.5 * rng.gamma(0.8, 1 / 0.8, n)
        # OMS accounts: ~60% register, most before the window, some during it.
        has_acct = rng.random(n) < pf.account_p
        before = rng.random(n) < 0.65
        reg = np.where(before, self.t0 - rng.integers(DAY, 3 * 365 * DAY, size=n), self.random_times(n))
        self.reg_time = np.where(has_acct, reg, NEVER)
        rank = np.argsort(np.where(has_acct, reg, NEVER), kind="stable")
        n_acct = int(has_acct.sum())
        self.acct_idx = np.full(n, -1, dtype=np.int64)  # person -> index into acct_ids
        self.acct_idx[rank[:n_acct]] = np.arange(n_acct)
        self.acct_ids = _seq_ids("OC", n_acct, 6, start=101)
        self.acct_person = rank[:n_acct]

    def email_choice(self, persons: np.ndarray, p: np.ndarray = EMAIL_VARIANT_P) -> np.ndarray:
        return persons * N_EMAIL_VARIANTS + self.rng.choice(N_EMAIL_VARIANTS, size=len(persons), p=p)

    def phone_choice(self, persons: np.ndarray, p=(0.4, 0.35, 0.25)) -> np.ndarray:
        return persons * N_PHONE_VARIANTS + self.rng.choice(N_PHONE_VARIANTS, size=len(persons), p=p)

    # -------------------------------------------------------------- devices
    def build_devices(self) -> None:
        rng, n = self.rng, self.n
        n_web = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
        has_app = (self.acct_idx >= 0) & (rng.random(n) < 0.35)
        counts = n_web + has_app
        person, pos = _segments(counts)
        self.dev_start = np.cumsum(counts) - counts
        self.dev_nweb = n_web
        is_app = pos >= n_web[person]
        first_type = rng.choice([0, 1], size=len(person), p=[0.55, 0.45])
        other_type = rng.choice([0, 1, 2], size=len(person), p=[0.25, 0.5, 0.25])
        dtype = np.where(is_app, 1, np.where(pos == 0, first_type, other_type))
        n_kiosk = self.s.kiosks
        self.dev_person = np.concatenate([person, np.full(n_kiosk, -1)])
        self.dev_type = np.concatenate([dtype, np.full(n_kiosk, 2)])
        self.dev_is_app = np.concatenate([is_app, np.zeros(n_kiosk, bool)])
        self.dev_kiosk0 = len(person)
        self.app_device = np.where(has_app, self.dev_start + n_web, -1)
        nd = len(self.dev_person)
        self.dev_ids = _uuid_like(rng, nd)
        # The app and some browsers report device-local time (+01:00/+02:00) instead of UTC.
        self.dev_local_time = self.dev_is_app | (rng.random(nd) < 0.12)
        ua_u = rng.random(nd)
        ua_list, ua_idx = [], np.empty(nd, dtype=np.int64)
        offset = 0
        for k, key in enumerate(["desktop", "mobile", "tablet", "app"]):
            sel = (self.dev_type == k) & ~self.dev_is_app if key != "app" else self.dev_is_app
            ua_idx[sel] = offset + (ua_u[sel] * len(USER_AGENTS[key])).astype(np.int64)
            ua_list += USER_AGENTS[key]
            offset += len(USER_AGENTS[key])
        self.dev_ua = ua_idx
        self.ua_dict = pa.array(ua_list, pa.string())
        octets = rng.integers(1, 255, size=(nd, 4))
        first_octet = np.array([77, 79, 84, 87, 91, 93, 109, 178, 188, 217])[rng.integers(0, 10, nd)]
        self.ip_dict = pa.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in
                                 zip(first_octet, octets[:, 1], octets[:, 2], octets[:, 3])], pa.string())
        app0 = len(ua_list) - len(USER_AGENTS["app"])  # app user agents name the APP_VERSIONS in order
        self.dev_app_version = np.where(self.dev_is_app, ua_idx - app0, -1)

    # -------------------------------------------------------------- products
    def build_products(self) -> None:
        rng, s = self.rng, self.s
        n = s.products
        categories = self.pf.categories
        shares = np.array([c[1] for c in categories])
        # Every category gets at least one product, the rest follows the catalog shares.
        cat = np.concatenate([np.arange(len(categories)),
                              rng.choice(len(categories), size=n - len(categories), p=shares / shares.sum())])
        cat = np.sort(cat, kind="stable")
        u = rng.random((n, 12))
        sku = np.sort(rng.choice(900_000, size=n, replace=False) + 100_000)
        ids, names, brands, descs, specs_json, price, paths, slugs = [], [], [], [], [], [], [], []
        for i in range(n):
            path, _, _, (lo, hi), brand_list, noun, spec_opts, *_ = self.pf.categories[cat[i]]
            brand = brand_list[int(u[i, 0] ** 1.3 * len(brand_list))]
            specs = {}
            for k, (key, opts) in enumerate(spec_opts.items()):
                specs[key] = opts[int(u[i, 2 + k] * len(opts))]
            # Price grows with the spec option index (bigger screen, more storage ...).
            level = np.mean([u[i, 2 + k] for k in range(len(spec_opts))])
            raw = lo * (hi / lo) ** (0.7 * level + 0.3 * u[i, 1])
            # shop prices: 1299.00-style above 100 EUR, 49.99-style below
            cents = int(round(raw / 10)) * 1000 - 1 if raw >= 100 else int(raw) * 100 + 99
            model = f"{'ABCDEFGHKLMPQRSTUVXZ'[int(u[i, 9] * 20)]}{int(u[i, 10] * 900) + 100}"
            name = f"{brand} {model} " + noun.format(**specs)
            ids.append(f"SKU-{sku[i]}")
            names.append(name)
            brands.append(brand)
            price.append(cents)
            paths.append(path)
            slugs.append(name.lower().replace('"', "").replace(" ", "-").replace(".", "-") + f"-{sku[i]}")
            spec_text = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in list(specs.items())[:3])
            descs.append(f"The {name} by {brand} ({path.split(' > ')[-1]}) with {spec_text}.")
            specs_json.append(json.dumps(specs, sort_keys=True, separators=(",", ":")))
        self.n_products = n
        self.p_cat = cat
        self.p_ids = pa.array(ids, pa.string())
        self.p_names = names
        self.p_brands = pa.array(brands, pa.string())
        self.p_desc = pa.array(descs, pa.string())
        self.p_specs = pa.array(specs_json, pa.string())
        self.p_path = pa.array(paths, pa.string())
        self.p_slug = slugs
        self.p_price0 = np.array(price, dtype=np.int64)
        self.p_cost = _money_round(self.p_price0 * (0.6 + 0.2 * rng.random(n)))
        self.p_cost_missing = rng.random(n) < 0.03
        # Popularity: Zipf-like within a category, scaled by the category's weight.
        cat_w = np.array([c[2] for c in self.pf.categories])[cat]
        # Cheaper products sell more often (a cable per TV, not a TV per cable).
        self.p_pop = cat_w / (1 + rng.permutation(n)) ** 0.9 * (self.p_price0 / 10_000) ** -0.5
        # Launches: most products are on sale before the window, some launch during it.
        new = rng.random(n) < 0.12
        self.p_launch = np.where(new, self.random_times(n, self.t0 + 7 * DAY, self.t_end - 7 * DAY),
                                 self.t0 - rng.integers(30 * DAY, 3 * 365 * DAY, n))
        self.p_launch = (self.p_launch // DAY) * DAY + 6 * HOUR  # on sale from 06:00 UTC of the launch day
        self.p_inactive0 = ~new & (rng.random(n) < 0.02)  # discontinued before the window
        self.p_deact = np.where(~new & ~self.p_inactive0 & (rng.random(n) < 0.02),
                                self.random_times(n, self.t0 + 10 * DAY), NEVER)
        # One price change in the window for some products, mostly reductions.
        change = ~self.p_inactive0 & (rng.random(n) < 0.12)
        self.p_change_t = np.where(change, self.random_times(n, np.maximum(self.p_launch + DAY, self.t0 + DAY)), NEVER)
        self.p_change_t = np.where(self.p_change_t < self.t_end, self.p_change_t, NEVER)
        factor = rng.choice([0.8, 0.85, 0.9, 0.95, 1.05, 1.1], size=n, p=[0.2, 0.25, 0.25, 0.15, 0.1, 0.05])
        self.p_price1 = np.maximum(_money_round(self.p_price0 * factor / 100) * 100 - 1, 99)
        sellable_all_window = (self.p_launch < self.t0) & ~self.p_inactive0 & (self.p_deact == NEVER)
        self.evergreen = np.flatnonzero(sellable_all_window)
        self.evergreen_p = self.p_pop[self.evergreen] / self.p_pop[self.evergreen].sum()
        self.all_p = self.p_pop * ~self.p_inactive0 / (self.p_pop * ~self.p_inactive0).sum()
        terms, self.cat_term0, self.cat_nterms = [], [], []
        for c in self.pf.categories:
            self.cat_term0.append(len(terms))
            self.cat_nterms.append(len(c[7]))
            terms += c[7]
        self.terms = terms
        self.cat_term0 = np.array(self.cat_term0)
        self.cat_nterms = np.array(self.cat_nterms)
        self.p_defect_prone = np.array([c[8] for c in self.pf.categories])[cat]
        self.p_accessory = np.isin(cat, [i for i, c in enumerate(self.pf.categories)
                                         if c[0] in self.pf.accessory_categories])
        # delivery fee per unit (furniture and large appliances go by freight); 0: parcel
        self.p_delivery_fee = np.array([c[9] if len(c) > 9 else 0 for c in self.pf.categories])[cat]
        self.p_project = np.isin(cat, [i for i, c in enumerate(self.pf.categories)
                                       if c[0] in self.pf.project_categories])

    def price_at(self, product: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.where(t >= self.p_change_t[product], self.p_price1[product], self.p_price0[product])

    def sellable(self, product: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (self.p_launch[product] <= t) & ~self.p_inactive0[product] & (self.p_deact[product] > t)

    # -------------------------------------------------------------- locations
    def build_locations(self) -> None:
        s, rng = self.s, self.rng
        nw, ns = s.warehouses, s.stores
        self.n_loc = nw + ns
        self.loc_is_wh = np.arange(self.n_loc) < nw
        self.loc_ids = [f"WH-{i + 1:02d}" for i in range(nw)] + [f"ST-{i + 1:02d}" for i in range(ns)]
        pf = self.pf
        places = pf.warehouses[:nw] + pf.stores[:ns]
        jitter = rng.normal(0, 0.01, size=(self.n_loc, 2))
        self.loc_city = [p[0] for p in places]
        self.loc_names = ([pf.warehouse_name.format(city=p[0]) for p in pf.warehouses[:nw]]
                          + [pf.store_name.format(city=p[0]) for p in pf.stores[:ns]])
        # a location whose coordinates the WMS does not have: None in the profile
        self.loc_no_coords = np.array([p[1] is None for p in places])
        self.loc_lat = np.round(np.array([p[1] or 0.0 for p in places]) + jitter[:, 0], 4)
        self.loc_lon = np.round(np.array([p[2] or 0.0 for p in places]) + jitter[:, 1], 4)
        self.loc_region = [p[3] if len(p) > 3 else None for p in places]
        self.loc_postal = [p[4] if len(p) > 4 else None for p in places]
        self.loc_cc = np.where(self.loc_is_wh, False, rng.random(self.n_loc) < 0.85)
        self.loc_cc[nw] = True  # at least one click-and-collect store
        self.cc_stores = np.flatnonzero(self.loc_cc)
        # sales tax of a store's city (regions with sales tax on top of prices)
        rates = {r[0]: r[5] for rows in pf.cities.values() for r in rows if len(r) > 5}
        self.loc_tax = np.array([rates.get(c, 0.0) for c in self.loc_city])
        # Stores carry a popular-leaning part of the evergreen range.
        k = max(10, int(round(s.store_assortment * self.n_products)))
        k = min(k, len(self.evergreen))
        self.assortment = np.stack([np.sort(rng.choice(self.evergreen, size=k, replace=False, p=self.evergreen_p))
                                    for _ in range(ns)])

    # -------------------------------------------------------------- orders
    def build_orders(self) -> None:
        s, rng, n, pf = self.s, self.rng, self.n, self.pf
        lam = self.order_activity * s.orders_per_person_year * s.days / 365
        person = np.repeat(np.arange(n), rng.poisson(lam))
        t = self.random_times(len(person))
        o = np.lexsort((person, t))
        person, t = person[o], t[o]
        m = len(person)
        registered = self.reg_time[person] <= t
        u = rng.random(m)
        # codes into ORDER_CHANNELS: 0 web, 1 app, 2 store, 3 phone, 4 catalog, 5 marketplace
        channel = np.array(pf.channel_codes)[np.searchsorted(pf.channel_bounds, u, side="right")]
        app_ok = registered & (self.app_device[person] >= 0)
        channel = np.where((channel == 1) & ~app_ok, 0, channel)
        store = np.where(channel == 2, self.s.warehouses + rng.integers(0, self.s.stores, m), -1)
        cc = (channel == 0) & (rng.random(m) < 0.1)
        store = np.where(cc, self.cc_stores[rng.integers(0, len(self.cc_stores), m)], store)
        oms = np.where(registered & ((channel < 2) | (rng.random(m) < 0.6)), self.acct_idx[person], -1)
        email = self.email_choice(person)
        # Store staff type placeholder e-mails for some walk-in guests; a few web guests do too.
        junk = (oms < 0) & (((channel == 2) & (rng.random(m) < 0.08)) | (rng.random(m) < 0.004))
        email = np.where(junk, self.junk_email0 + rng.integers(0, len(JUNK_EMAILS), m), email)
        phone = np.where(self.has_phone[person] & (rng.random(m) < 0.6), self.phone_choice(person), -1)
        # lines
        n_lines = rng.choice([1, 2, 3, 4], size=m, p=[0.55, 0.25, 0.13, 0.07])
        project = np.zeros(m, bool)
        if pf.project_order_p:
            # a project (a kitchen): several large appliances on one order, delivered together
            project = (channel != 2) & (rng.random(m) < pf.project_order_p)
            n_lines = np.where(project, rng.integers(pf.project_lines[0], pf.project_lines[1] + 1, m), n_lines)
        l_order, l_pos = _segments(n_lines)
        nl = len(l_order)
        lt = t[l_order]
        prod = rng.choice(self.n_products, size=nl, p=self.all_p)
        bad = ~self.sellable(prod, lt)
        prod[bad] = rng.choice(self.evergreen, size=int(bad.sum()), p=self.evergreen_p)
        in_store = channel[l_order] == 2
        st = store[l_order][in_store] - s.warehouses
        prod[in_store] = self.assortment[st, rng.integers(0, self.assortment.shape[1], int(in_store.sum()))]
        if pf.project_order_p:
            pool = self.evergreen[self.p_project[self.evergreen]]
            pool = pool[self.p_price0[pool] >= np.quantile(self.p_price0[pool], 0.6)]  # the better models
            in_project = project[l_order]
            prod[in_project] = rng.choice(pool, size=int(in_project.sum()))
        qu = rng.random(nl)
        acc = self.p_accessory[prod]
        qty = np.where(qu < np.where(acc, 0.7, 0.9), 1, np.where(qu < np.where(acc, 0.92, 0.98), 2, 3))
        qty = np.where(project[l_order], 1, qty)
        unit = self.price_at(prod, lt)
        ldisc = np.where(rng.random(nl) < 0.08, _money_round(qty * unit * rng.uniform(0.05, 0.2, nl)), 0)
        subtotal = np.bincount(l_order, weights=qty * unit - ldisc, minlength=m).astype(np.int64)
        du = rng.random(m)
        odisc = np.where(du < 0.03, _money_round(subtotal * 0.1),
                         np.where(du < 0.06, np.minimum(rng.choice([500, 1000], m), subtotal), 0))
        ships = (channel != 2) & (store < 0)
        parcel = np.where(ships & (subtotal - odisc < pf.free_shipping_from), pf.flat_shipping, 0)
        if pf.prices_include_tax:
            shipping = parcel
            total = subtotal - odisc + shipping
            v = pf.vat_percent  # VAT included in the total, rounded to the cent
            tax = (total * v + (100 + v) // 2) // (100 + v)
        else:
            # freight per unit for furniture and large appliances, the parcel rate for the rest;
            # sales tax of the delivery address (or the store) added on top
            freight = np.bincount(l_order, weights=qty * self.p_delivery_fee[prod], minlength=m).astype(np.int64)
            shipping = np.where(ships, np.where(freight > 0, freight, parcel), 0)
            rate = np.where(store >= 0, self.loc_tax[np.maximum(store, 0)], self.person_tax[person])
            tax = _money_round((subtotal - odisc + shipping) * rate)
            total = subtotal - odisc + shipping + tax
        age = self.t_end - t
        su = rng.random(m)
        status = np.where(age < DAY, np.where(su < 0.8, 0, 1),
                          np.where(age < 4 * DAY, np.where(su < 0.15, 0, np.where(su < 0.85, 1, 2)), 2))
        status = np.where(channel == 2, 2, status)
        status = np.where((channel != 2) & (rng.random(m) < 0.03), 3, status)  # placed shipped delivered cancelled
        self.o_delivered = np.full(m, NEVER)
        if pf.records_delivered_at:
            # Freight takes longer than parcels; a store sale is carried out at the till.
            d_lo, d_hi = pf.delivery_days
            lead = rng.integers(d_lo * DAY, d_hi * DAY, m) + np.where(shipping > pf.flat_shipping,
                                                                     rng.integers(0, 10 * DAY, m), 0)
            delivered_t = np.where(channel == 2, t, t + lead)
            shipped_t = t + rng.integers(6 * HOUR, 3 * DAY, m)
            status = np.where(status == 3, 3,
                              np.where(delivered_t < self.t_end, 2, np.where(shipped_t < self.t_end, 1, 0)))
            self.o_delivered = np.where(status == 2, delivered_t, NEVER)
        if pf.anonymous_store_p or set(pf.channel_codes) - {0, 1, 2}:
            # Walk-in store sales often leave no trace of the buyer; a call centre takes a phone
            # number and not always an e-mail; a marketplace keeps the buyer's e-mail and account.
            anon = (channel == 2) & (rng.random(m) < pf.anonymous_store_p)
            oms, email, phone = (np.where(anon, -1, x) for x in (oms, email, phone))
            by_phone = channel == 3
            email = np.where(by_phone & (rng.random(m) >= pf.phone_order_email_p), -1, email)
            phone = np.where(by_phone, self.phone_choice(person), phone)
            market = channel == 5
            oms, email = np.where(market, -1, oms), np.where(market, -1, email)
            phone = np.where(market & (rng.random(m) >= pf.marketplace_phone_p), -1, phone)
        self.o_person, self.o_t, self.o_channel, self.o_store = person, t, channel, store
        self.o_oms, self.o_email, self.o_phone, self.o_status = oms, email, phone, status
        self.o_subtotal, self.o_disc, self.o_ship, self.o_total, self.o_tax = subtotal, odisc, shipping, total, tax
        self.o_nlines, self.o_line0 = n_lines, np.cumsum(n_lines) - n_lines
        self.o_ids = _seq_ids(pf.order_id_prefix, m, pf.order_id_width, start=pf.order_id_start)
        self.l_order, self.l_pos, self.l_prod, self.l_qty, self.l_unit, self.l_disc = l_order, l_pos, prod, qty, unit, ldisc
        self.l_ids = pa.array([f"{i}-{j}" for i, j in zip(np.array(self.o_ids.to_pylist(), dtype=object)[l_order],
                                                           l_pos + 1)], pa.string())
        self.o_cart = np.full(m, -1)  # filled by the web sessions, if the retailer has web analytics
        self.cart_ids = pa.array([], pa.string())

    def orders_table(self) -> pa.Table:
        m = len(self.o_t)
        p = self.o_person
        ships = (self.o_channel != 2) & (self.o_store < 0)
        country = np.where(ships, self.country[p], 0)  # pick-up and store orders: the store's country (the first)
        tbl = pa.table({
            "order_id": self.o_ids,
            "oms_customer_id": _cat(self.o_oms, self.acct_ids),
            "email": _cat(self.o_email, self.email_variants),
            "phone": _cat(self.o_phone, self.phone_variants),
            "channel": _cat(self.o_channel, ORDER_CHANNELS),
            "store_location_id": _cat(self.o_store, self.loc_ids),
            "cart_id": _cat(self.o_cart, self.cart_ids),
            "ordered_at": self.o_t,
            "status": _cat(self.o_status, ["placed", "shipped", "delivered", "cancelled"]),
            "currency": _cat(np.zeros(m, int), [self.pf.currency]),
            "subtotal_amount": self.o_subtotal,
            "discount_amount": self.o_disc,
            "shipping_amount": self.o_ship,
            "tax_amount": self.o_tax,
            "total_amount": self.o_total,
            "shipping_address": _cat(np.where(ships, p, -1), self.streets),
            "shipping_postcode": _cat(np.where(ships, p, -1), self.postcodes),
            "shipping_city": _cat(np.where(ships, p, -1), self.cities),
            "shipping_country": _cat(country, list(self.pf.countries)),
            "_day": self.day_of(self.o_t),
        })
        if self.pf.records_delivered_at:
            tbl = tbl.append_column("delivered_at", _opt(self.o_delivered, self.o_delivered == NEVER))
        if self.regions is not None:
            tbl = tbl.append_column("shipping_region", _cat(np.where(ships, p, -1), self.regions))
        return tbl  # orders are numbered in time order already

    def order_lines_table(self) -> pa.Table:
        tbl = pa.table({
            "order_line_id": self.l_ids,
            "order_id": _cat(self.l_order, self.o_ids),
            "line_number": (self.l_pos + 1).astype(np.int32),
            "product_id": _cat(self.l_prod, self.p_ids),
            "quantity": self.l_qty.astype(np.int32),
            "unit_price": self.l_unit,
            "discount_amount": self.l_disc,
            "_day": self.day_of(self.o_t[self.l_order]),
        })
        return tbl

    # -------------------------------------------------------------- web sessions and events
    def build_web(self) -> pa.Table:
        s, rng, n = self.s, self.rng, self.n
        m = len(self.o_t)
        # Buying sessions: web and app orders, except a few app orders the tracking missed.
        buy = (self.o_channel < 2) & ~((self.o_channel == 1) & (rng.random(m) < 0.05))
        cs_order = np.flatnonzero(buy)
        cs_person = self.o_person[cs_order]
        # Browsing sessions that do not end in an order. A newsletter click is one of them: it
        # lands in a browser of the subscriber a few seconds after the click (build_consents_and_email).
        lam = self.browse_activity * s.browse_sessions_per_person_year * s.days / 365
        clicks_per_person = np.bincount(self.click_person, minlength=n)
        bs_person = np.repeat(np.arange(n), np.maximum(rng.poisson(lam) - clicks_per_person, 0))
        bs_t = self.random_times(len(bs_person))
        nk = len(self.click_person)
        nc, nb = len(cs_order), len(bs_person) + nk
        ns = nc + nb
        person = np.concatenate([cs_person, bs_person, self.click_person])
        order = np.concatenate([cs_order, np.full(nb, -1)])
        conv = order >= 0
        from_email = np.arange(ns) >= ns - nk
        anchor = np.concatenate([self.o_t[cs_order], bs_t, self.click_t + rng.integers(1, 15, nk)])
        # device: the app for app orders, else one of the person's browsers; a few kiosk visits
        web_dev = self.dev_start[person] + (rng.random(ns) * self.dev_nweb[person]).astype(np.int64)
        use_app = np.where(conv, self.o_channel[np.maximum(order, 0)] == 1,
                           ~from_email & (self.app_device[person] >= 0) & (rng.random(ns) < 0.2))
        device = np.where(use_app, self.app_device[person], web_dev)
        kiosk = ~conv & ~from_email & (rng.random(ns) < 0.015)
        device = np.where(kiosk, self.dev_kiosk0 + rng.integers(0, s.kiosks, ns), device)
        registered = self.reg_time[person] <= anchor
        user = np.where(conv, self.o_oms[np.maximum(order, 0)], np.where(registered, self.acct_idx[person], -1))
        # cart size L: the order's lines (+1 removed item sometimes); for browsers some carts
        n_rm = (rng.random(ns) < 0.1).astype(np.int64)
        has_cart = conv | (~kiosk & (rng.random(ns) < 0.3))
        L_browse = 1 + (rng.random(ns) < 0.3) + (rng.random(ns) < 0.1)
        n_lines = np.where(conv, self.o_nlines[np.maximum(order, 0)], 0)
        L = np.where(conv, n_lines + n_rm, np.where(has_cart, L_browse, 0))
        n_rm = np.where(has_cart, n_rm, 0)
        n_rm = np.where(~conv & has_cart & (L < 2), 0, n_rm)  # a browser removes one of several items
        n_views = L + rng.poisson(np.where(conv, 1.0, 1.5), ns)
        search = (rng.random(ns) < 0.5).astype(np.int64)
        max_step = np.where(conv, 4, np.where(has_cart, rng.choice(5, size=ns, p=[0.3, 0.3, 0.2, 0.12, 0.08]), 0))
        complete = conv.astype(np.int64)
        # Login: already logged in (cookie) or logging in mid-session (identify); guests type their
        # e-mail at checkout (identify without user_id). The app keeps its login between sessions.
        logged_start = (user >= 0) & ~kiosk & (rng.random(ns) < np.where(use_app, 0.9, np.where(conv, 0.55, 0.45)))
        login_mid = (user >= 0) & ~logged_start & (conv | (rng.random(ns) < np.where(kiosk, 0.3, 0.12)))
        guest_email = (user < 0) & ~kiosk & np.where(conv, rng.random(ns) < 0.85,
                                                     (max_step >= 2) & (rng.random(ns) < 0.5))
        identify = (login_mid | guest_email).astype(np.int64)
        session_user = np.where(logged_start | login_mid, user, -1)
        counts = np.stack([np.ones(ns, np.int64), search, 2 * n_views, L, n_rm, identify, max_step, complete], 1)
        ends = np.cumsum(counts, 1)
        n_ev = ends[:, -1]
        sess, pos = _segments(n_ev)
        ne = len(sess)
        seg = np.zeros(ne, dtype=np.int8)
        for k in range(counts.shape[1] - 1):
            seg += pos >= ends[sess, k]
        w = pos - (ends[sess, seg] - counts[sess, seg])
        # timing: gaps between events; buying sessions end with the order
        gap = np.where(pos == 0, 0, 3 + rng.exponential(np.where(seg >= 6, 25, 40), ne)).astype(np.int64)
        rel = np.cumsum(gap)
        rel -= rel[np.cumsum(n_ev) - n_ev][sess]
        dur = rel[np.cumsum(n_ev) - 1]
        start = np.where(conv, anchor - dur, anchor)
        t = start[sess] + rel
        # cart products: the order lines for buyers, popular products for browsers
        c_sess, c_k = _segments(L)
        c_order = order[c_sess]
        from_line = (c_order >= 0) & (c_k < n_lines[c_sess])
        c_prod = rng.choice(self.evergreen, size=len(c_sess), p=self.evergreen_p)
        c_prod[from_line] = self.l_prod[self.o_line0[c_order[from_line]] + c_k[from_line]]
        c_qty = np.ones(len(c_sess), dtype=np.int64)
        c_qty[from_line] = self.l_qty[self.o_line0[c_order[from_line]] + c_k[from_line]]
        cart0 = np.cumsum(L) - L
        view_no = w // 2
        rand_prod = rng.choice(self.evergreen, size=ne, p=self.evergreen_p)
        Le = L[sess]
        product = np.full(ne, -1, dtype=np.int64)
        qty = np.full(ne, -1, dtype=np.int64)
        is_view = seg == 2
        from_cart = is_view & (view_no < Le)
        # the page view and its 'Product Viewed' event show the same product
        view_page = np.flatnonzero(is_view) - (w[is_view] % 2)
        product[is_view] = rand_prod[view_page]
        product[from_cart] = c_prod[cart0[sess[from_cart]] + view_no[from_cart]]
        add = seg == 3
        product[add] = c_prod[cart0[sess[add]] + w[add]]
        qty[add] = c_qty[cart0[sess[add]] + w[add]]
        rem = seg == 4
        product[rem] = c_prod[cart0[sess[rem]] + Le[rem] - 1]
        qty[rem] = 1
        # carts get ids; orders remember the cart they came from
        n_carts = int((L > 0).sum())
        self.cart_ids = pa.array(_scrambled_ids(rng, n_carts, "ct_"), pa.string())
        cart_of = np.full(ns, -1)
        cart_of[L > 0] = np.arange(n_carts)
        self.o_cart[cs_order] = cart_of[:nc]
        # App orders the tracking missed still carry a cart id, without events behind it.
        missed = np.flatnonzero((self.o_channel < 2) & (self.o_cart < 0))
        extra = pa.array(_scrambled_ids(rng, len(missed), "ca_"), pa.string())
        self.o_cart[missed] = n_carts + np.arange(len(missed))
        self.cart_ids = pa.concat_arrays([self.cart_ids, extra])
        # event kind
        etype = np.where((seg == 0) | (is_view & (w % 2 == 0)), 0, np.where(seg == 5, 2, 1))  # page track identify
        ev_name = np.select([seg == 1, is_view & (w % 2 == 1), add, rem, seg == 6, seg == 7],
                            [0, 1, 2, 3, 4, 5], -1)
        # pages: dictionary of home, categories, search, products, login, checkout pages
        cat_slugs = [c[0].split(" > ")[-1].lower().replace(" ", "-").replace("&", "and") for c in self.pf.categories]
        pages = (["/"] + [f"/c/{c}" for c in cat_slugs] + [f"/search?q={q.replace(' ', '+')}" for q in self.terms]
                 + [f"/p/{sl}" for sl in self.p_slug] + ["/login", "/checkout/email"]
                 + [p for p, _ in CHECKOUT_PAGES] + ["/checkout/confirmation"])
        titles = (["Voltmarkt – Electronics online"] + [f"{c[0].split(' > ')[-1]} | Voltmarkt" for c in self.pf.categories]
                  + [f"Search: {q} | Voltmarkt" for q in self.terms] + [f"{nm} | Voltmarkt" for nm in self.p_names]
                  + ["Sign in | Voltmarkt", "Checkout | Voltmarkt"] + [f"{tt} | Voltmarkt" for _, tt in CHECKOUT_PAGES]
                  + ["Thank you for your order | Voltmarkt"])
        PG_CAT, PG_SEARCH = 1, 1 + len(self.pf.categories)
        PG_PROD = PG_SEARCH + len(self.terms)
        PG_LOGIN = PG_PROD + self.n_products
        PG_CHECKOUT = PG_LOGIN + 2
        PG_CONFIRM = PG_CHECKOUT + 4
        first_cat = np.where(L > 0, self.p_cat[c_prod[np.minimum(cart0, max(len(c_prod) - 1, 0))]] if len(c_prod) else 0,
                             rng.integers(0, len(self.pf.categories), ns))
        term = self.cat_term0[first_cat] + (rng.random(ns) * self.cat_nterms[first_cat]).astype(np.int64)
        landing = np.where(rng.random(ns) < 0.45, 0, PG_CAT + first_cat)
        # a newsletter click lands on the product page it links to
        landing[from_email] = PG_PROD + self.click_prod
        page = np.select(
            [seg == 0, seg == 1, (seg >= 2) & (seg <= 4), (seg == 5) & (session_user[sess] >= 0), seg == 5,
             seg == 6, seg == 7],
            [landing[sess], PG_SEARCH + term[sess], PG_PROD + product, PG_LOGIN, PG_LOGIN + 1,
             PG_CHECKOUT + w, PG_CONFIRM], 0)
        prev_page = np.concatenate([[0], page[:-1]])
        ref_internal = np.where(pos > 0, prev_page, -1)
        campaigns = UTM_CAMPAIGNS + [("newsletter", "email", c, None) for c in self.newsletter_ids]
        utm = np.where(rng.random(ns) < PAID_UTM_P, rng.integers(0, len(UTM_CAMPAIGNS), ns), -1)
        utm[from_email] = len(UTM_CAMPAIGNS) + self.click_camp
        sub = np.full(ns, -1, dtype=np.int64)
        sub[from_email] = self.click_token
        organic = rng.choice(len(ORGANIC_REFERRERS), size=ns, p=ORGANIC_REFERRER_P)
        ext_refs = [r for *_, r in campaigns] + ORGANIC_REFERRERS
        ext_ref = np.where(utm >= 0, utm, len(campaigns) + organic)
        ext_ref = np.where(np.array([r is None for r in ext_refs])[ext_ref], -1, ext_ref)
        ext_ref_e = np.where(pos == 0, ext_ref[sess], -1)
        utm_e = np.where(pos == 0, utm[sess], -1)
        # who: user_id after login; identify traits
        uid = np.where((session_user[sess] >= 0) & (logged_start[sess] | (seg >= 5)), session_user[sess], -1)
        ident = seg == 5
        t_email = np.full(ne, -1, dtype=np.int64)
        t_email[ident] = self.email_choice(person[sess[ident]])
        t_phone = np.full(ne, -1, dtype=np.int64)
        with_phone = ident & self.has_phone[person[sess]] & (rng.random(ne) < 0.2)
        t_phone[with_phone] = self.phone_choice(person[sess[with_phone]])
        # amounts
        price = np.where(product >= 0, self.price_at(np.maximum(product, 0), t), -1)
        price = np.where(seg == 1, -1, price)
        oi = np.maximum(order[sess], 0)
        shipping = np.where(conv[sess], self.o_ship[oi], np.where(self.p_price0[c_prod[np.minimum(cart0, max(len(c_prod) - 1, 0))]][sess] >= 5000, 0, 499) if len(c_prod) else 499)
        shipping = np.where((seg == 6) & (w >= 1), shipping, -1)
        dev = device[sess]
        ev = {
            "message_id": _uuid_like(rng, ne),
            "type": _cat(etype, ["page", "track", "identify"]),
            "event": _cat(ev_name, EVENT_NAMES),
            "anonymous_id": _cat(dev, self.dev_ids),
            "user_id": _cat(uid, self.acct_ids),
            "timestamp": t,
            "_tz": np.where(self.dev_local_time[dev], _berlin_offset_minutes(t), 0).astype(np.int16),
            # The nested JSON columns are rendered per file from these index columns (see _WebJson).
            "_page": page.astype(np.int32),
            "_ref": np.where(ref_internal >= 0, ref_internal, np.where(ext_ref_e >= 0, len(pages) + ext_ref_e, -1)),
            "_utm": utm_e.astype(np.int32),
            "_sub": np.where(pos == 0, sub[sess], -1).astype(np.int32),
            "_device": dev.astype(np.int32),
            "_product": np.where((seg >= 2) & (seg <= 4), product, -1).astype(np.int32),
            "_price": np.where(seg == 1, -1, price),
            "_quantity": qty.astype(np.int32),
            "_cart": np.where(np.isin(seg, [3, 4, 6, 7]), cart_of[sess], -1),
            "_query": np.where(seg == 1, term[sess], -1).astype(np.int32),
            "_step": np.where(seg == 6, w + 1, -1).astype(np.int32),
            "_shipping": shipping,
            "_order": np.where(seg == 7, order[sess], -1),
            "_revenue": np.where(seg == 7, self.o_total[oi], -1),
            "_email": t_email,
            "_phone": t_phone,
        }
        self.web_json = _WebJson(self, pages, titles, ext_refs, campaigns, self.sub_tokens)
        keep = (t >= self.t0) & (t < self.t_end)
        # A small share of events is delivered twice with the same message_id (client retries).
        retry = np.flatnonzero(keep & (rng.random(ne) < 0.002))
        rows = np.concatenate([np.flatnonzero(keep), retry])
        tbl = pa.table(ev).take(pa.array(rows))
        t_rows = t[rows]
        # by time, then event (a retry sorts right after its original)
        self.web_order = np.lexsort((rows, t_rows))
        tbl = tbl.append_column("_day", pa.array(self.day_of(t_rows)))
        # ground truth: devices, accounts, typed e-mails and phones seen in the events
        dev_rows = dev[rows]
        self.web_devices_seen = np.unique(dev_rows)
        self.web_users_seen = np.unique(uid[rows][uid[rows] >= 0])
        self.web_emails_seen = np.unique(t_email[rows][t_email[rows] >= 0])
        self.web_phones_seen = np.unique(t_phone[rows][t_phone[rows] >= 0])
        return tbl

    # -------------------------------------------------------------- returns
    def build_returns(self) -> pa.Table:
        rng, pf = self.rng, self.pf
        lo = self.l_order
        nl = len(lo)
        delivered = self.o_status[lo] == 2
        rate = np.where(self.p_defect_prone[self.l_prod], 0.11, 0.07)
        ret = delivered & (self.o_channel[lo] != 2) | (delivered & (rng.random(nl) < 0.3))
        ret = ret & (rng.random(nl) < rate)
        req = self.o_t[lo] + rng.integers(2 * DAY, 30 * DAY, nl)
        sel = np.flatnonzero(ret & (req < self.t_end))
        req = req[sel]
        k = len(sel)
        prone = self.p_defect_prone[self.l_prod[sel]]
        reason = np.where(prone, rng.choice(6, size=k, p=DEFECT_PRONE_P), rng.choice(6, size=k, p=DEFAULT_REASON_P))
        text = np.full(k, -1)
        if pf.return_reason_texts:
            # The OMS has its own reason wording; each maps to the closest code, or to `other`.
            text = self._reason_texts(k)
            reason = self.reason_code[text]
        recv = req + rng.integers(2 * DAY, 7 * DAY, k)
        received = recv < self.t_end
        cond = np.where(reason == 0, rng.choice([1, 2], size=k, p=[0.7, 0.3]),
                        rng.choice(3, size=k, p=[0.5, 0.42, 0.08]))  # unopened opened damaged
        qty = 1 + (rng.random(k) * self.l_qty[sel]).astype(np.int64)
        line_amount = self.l_unit[sel] * self.l_qty[sel] - self.l_disc[sel]
        refund = _money_round(line_amount * qty / self.l_qty[sel])
        refund = np.where((cond == 2) & ~np.isin(reason, [0, 3]), _money_round(refund * 0.5), refund)
        refunded = received & (recv + rng.integers(DAY // 2, 3 * DAY, k) < self.t_end)
        self.ret_line = sel
        self.ret_reason = reason
        cols = {
            "order_id": _cat(lo[sel], self.o_ids),
            "order_line_id": _cat(sel, self.l_ids),
            "product_id": _cat(self.l_prod[sel], self.p_ids),
            "quantity": qty.astype(np.int32),
            "reason": _cat(reason, list(RETURN_REASONS)),
            "condition": _cat(np.where(received, cond, -1), ["unopened", "opened", "damaged"]),
            "refund_amount": _opt(refund, ~refunded),
            "requested_at": req,
            "received_at": _opt(recv, ~received),
            "_day": self.day_of(req),
        }
        key = sel
        if pf.return_reason_texts:
            cols["reason_text"] = _cat(text, self.reason_texts)
        if pf.returned_by_other_p:
            # a gift: the recipient (someone else's account) brings it back
            other = rng.random(k) < pf.returned_by_other_p
            acct = rng.integers(0, len(self.acct_ids), k)
            acct = np.where(self.acct_person[acct] == self.o_person[lo[sel]], (acct + 1) % len(self.acct_ids), acct)
            acct = np.where(other, acct, -1)
            self.ret_other_accts = np.unique(acct[acct >= 0])
            cols["returned_by_oms_customer_id"] = _cat(acct, self.acct_ids)
        if pf.old_order_returns_share:
            cols, key = self._old_order_returns(cols, key, k)
            req = cols["requested_at"]
        k = len(req)
        rank = np.lexsort((key, req))
        ids = np.empty(k, dtype=np.int64)
        ids[rank] = np.arange(k)
        tbl = pa.table({"return_id": _cat(ids, _seq_ids("RET", k, 7, start=100_001)), **cols})
        return tbl.take(pa.array(rank))

    def _reason_texts(self, k: int) -> np.ndarray:
        table = self.pf.return_reason_texts
        self.reason_texts = [text for _, text, _ in table]
        self.reason_code = np.array([RETURN_REASONS.index(code) for code, _, _ in table])
        w = np.array([weight for *_, weight in table], dtype=float)
        return self.rng.choice(len(table), size=k, p=w / w.sum())

    def _old_order_returns(self, cols: dict, key: np.ndarray, k: int) -> tuple[dict, np.ndarray]:
        """Returns of orders placed before the first orders file: their orders and lines are in no
        file (an OMS export starts at a date; the returns desk does not)."""
        rng, pf = self.rng, self.pf
        ko = max(1, int(round(k * pf.old_order_returns_share)))
        # order numbers a few weeks' worth of orders below the first one of the files
        onum = pf.order_id_start - 1 - np.sort(rng.choice(max(20 * len(self.o_t), ko), size=ko, replace=False))
        line_no = 1 + rng.integers(0, 3, ko)
        prod = rng.choice(self.evergreen, size=ko, p=self.evergreen_p)
        req = self.random_times(ko, self.t0, self.t0 + 30 * DAY)
        recv = req + rng.integers(2 * DAY, 7 * DAY, ko)
        refunded = recv + rng.integers(DAY // 2, 3 * DAY, ko) < self.t_end
        text = self._reason_texts(ko) if pf.return_reason_texts else np.full(ko, -1)
        reason = self.reason_code[text] if pf.return_reason_texts else rng.choice(6, size=ko, p=DEFAULT_REASON_P)
        cond = rng.choice(3, size=ko, p=[0.5, 0.42, 0.08])
        oids = [f"{pf.order_id_prefix}{int(o):0{pf.order_id_width}d}" for o in onum]
        old = {
            "order_id": pa.array(oids, pa.string()),
            "order_line_id": pa.array([f"{o}-{n}" for o, n in zip(oids, line_no)], pa.string()),
            "product_id": _cat(prod, self.p_ids),
            "quantity": np.ones(ko, dtype=np.int32),
            "reason": _cat(reason, list(RETURN_REASONS)),
            "condition": _cat(cond, ["unopened", "opened", "damaged"]),
            "refund_amount": _opt(self.p_price0[prod], ~refunded),
            "requested_at": req,
            "received_at": recv,
            "_day": self.day_of(req),
            "reason_text": _cat(text, self.reason_texts) if pf.return_reason_texts else None,
            "returned_by_oms_customer_id": _cat(np.full(ko, -1), self.acct_ids),
        }
        merged = {}
        for name, values in cols.items():
            a, b = pa.array(values), pa.array(old[name])
            if pa.types.is_dictionary(a.type) or pa.types.is_dictionary(b.type):
                a, b = a.cast(pa.string()), b.cast(pa.string())
            merged[name] = pa.concat_arrays([a, b.cast(a.type)])
        merged["requested_at"] = np.concatenate([cols["requested_at"], req])
        merged["_day"] = np.concatenate([cols["_day"], self.day_of(req)])
        # old lines sort before every line of the files at the same time
        return merged, np.concatenate([key, -1 - np.arange(ko)])

    # -------------------------------------------------------------- CRM
    def build_crm(self) -> pa.Table:
        rng, n = self.rng, self.n
        # The CRM learns of a buyer from an order that names them (an e-mail or an account).
        named = np.flatnonzero((self.o_email >= 0) | (self.o_oms >= 0))
        first_idx = np.unique(self.o_person[named], return_index=True)
        first_order_t = np.full(n, NEVER)
        first_order_t[first_idx[0]] = self.o_t[named[first_idx[1]]]
        first_channel = np.full(n, -1)
        first_channel[first_idx[0]] = self.o_channel[named[first_idx[1]]]
        has_acct = self.acct_idx >= 0
        sub = rng.random(n) < 0.08
        sub_t = np.where(sub, self.random_times(n), NEVER)
        pre = has_acct & (self.reg_time < self.t0)
        in_crm = has_acct | (first_order_t < NEVER) | sub
        order_t = np.where(first_order_t < NEVER, np.minimum(first_order_t + rng.integers(30, 900, n), self.t_end - 1),
                           NEVER)
        reg_in = np.where(has_acct & ~pre, self.reg_time, NEVER)
        cand = np.stack([order_t, reg_in, sub_t], 1)
        how = np.argmin(cand, 1)
        created = np.where(pre, self.reg_time, cand.min(1))
        # source of the first consent: checkout / store / account_page / support
        src = np.where(pre | (how > 0), 2, np.where(first_channel == 2, 1, 0))
        # The CRM went live with an initial load of the existing customers on the first day.
        v0 = np.where(pre, self.t0 + 2 * HOUR + rng.integers(0, 3 * HOUR, n), created)
        P = np.flatnonzero(in_crm)
        # Duplicates: the same person created again later (store visit, support call), e-mail typed
        # differently, often without phone and never linked to the OMS account.
        dup_ok = v0[P] < self.t_end - 2 * DAY
        D = P[dup_ok & (rng.random(len(P)) < 0.03)]
        d_created = self.random_times(len(D), v0[D] + DAY)
        rec_person = np.concatenate([P, D])
        is_dup = np.concatenate([np.zeros(len(P), bool), np.ones(len(D), bool)])
        rec_created = np.concatenate([created[P], d_created])
        rec_v0 = np.concatenate([v0[P], d_created])
        nr = len(rec_person)
        prim_variant = rng.choice(N_EMAIL_VARIANTS, size=len(P), p=[0.9, 0.05, 0.01, 0.02, 0.02])
        dup_variant = np.where(rng.random(len(D)) < 0.5, rng.integers(1, N_EMAIL_VARIANTS, len(D)), 0)
        prim_of_dup = np.searchsorted(P, D)
        dup_variant = np.where(dup_variant == 0, prim_variant[prim_of_dup] % 4 + 1, dup_variant)
        rec_email = rec_person * N_EMAIL_VARIANTS + np.concatenate([prim_variant, dup_variant])
        rec_src = np.concatenate([src[P], rng.choice([1, 4], size=len(D))])
        # When the CRM learns which fields (NEVER = not in this window)
        hp = self.has_phone[rec_person]
        pu = rng.random(nr)
        misc = rng.random(nr) < 0.15
        misc_t = np.where(misc, rec_v0 + HOUR + (rng.random(nr) * np.maximum(self.t_end - rec_v0 - 2 * HOUR, 0)).astype(np.int64),
                          NEVER)
        misc_t = np.where(misc_t < self.t_end, misc_t, NEVER)
        phone_t = np.where(hp & (pu < np.where(is_dup, 0.5, 0.7)), rec_v0, np.where(hp & (pu < 0.85), misc_t, NEVER))
        by_t = np.where(rng.random(nr) < 0.6, rec_v0, np.where(rng.random(nr) < 0.3, misc_t, NEVER))
        reg = self.reg_time[rec_person]
        lu = rng.random(nr)
        link_t = np.where(is_dup, NEVER, np.where(reg <= rec_created, np.where(lu < 0.92, rec_v0, NEVER),
                                                  np.where((reg < self.t_end - 60) & (lu < 0.9), reg + 60, NEVER)))
        has_addr = ~is_dup | (rng.random(nr) < 0.5)
        # record ids in creation order
        rank = np.lexsort((rec_person, rec_created))
        rid = np.empty(nr, dtype=np.int64)
        rid[rank] = np.arange(nr)
        self.crm_ids = _seq_ids("CRM", nr, 7, start=1_000_001)
        self.rec_id = rid  # record -> index into crm_ids
        self.rec_person, self.rec_is_dup, self.rec_v0, self.rec_src = rec_person, is_dup, rec_v0, rec_src
        self.rec_email = rec_email
        self.person_rec = np.full(n, -1)
        self.person_rec[P] = np.arange(len(P))
        self.person_dup = np.full(n, -1)
        self.person_dup[D] = len(P) + np.arange(len(D))
        self.person_sub = sub
        # versions: creation (or initial load), OMS link, one later edit
        vt = np.concatenate([rec_v0, np.where((link_t > rec_v0) & (link_t < NEVER), link_t, NEVER), misc_t])
        vrec = np.tile(np.arange(nr), 3)
        keep = vt < self.t_end
        vt, vrec = vt[keep], vrec[keep]
        uniq = np.unique(np.stack([vrec, vt], 1), axis=0)  # sorted by record, then time
        vrec, vt = uniq[:, 0], uniq[:, 1]
        last_of_day = _last_per_day(vrec, vt)
        vrec, vt = vrec[last_of_day], vt[last_of_day]
        p = rec_person[vrec]
        self.crm_oms_seen = np.unique(self.acct_idx[p][link_t[vrec] <= vt])
        self.crm_phone_rows = np.where(phone_t[vrec] <= vt, p * N_PHONE_VARIANTS + (p % 2), -1)
        addr = np.where(has_addr[vrec], p, -1)
        tbl = pa.table({
            "crm_customer_id": _cat(rid[vrec], self.crm_ids),
            "oms_customer_id": _cat(np.where(link_t[vrec] <= vt, self.acct_idx[p], -1), self.acct_ids),
            "email": _cat(rec_email[vrec], self.email_variants),
            "phone": _cat(self.crm_phone_rows, self.phone_variants),
            "first_name": _cat(p, self.first_names),
            "last_name": _cat(p, self.last_names),
            "address": _cat(addr, self.streets),
            "postcode": _cat(addr, self.postcodes),
            "city": _cat(addr, self.cities),
            "country": _cat(np.where(addr >= 0, self.country[p], -1), list(self.pf.countries)),
            "birth_year": _opt(self.birth_year[p], by_t[vrec] > vt),
            "created_at": rec_created[vrec],
            "updated_at": vt,
            "_day": self.day_of(vt),
        })
        if self.regions is not None:
            tbl = tbl.append_column("region", _cat(addr, self.regions))
        order = np.lexsort((rid[vrec], vt))
        return tbl.take(pa.array(order))

    # -------------------------------------------------------------- support tickets
    def build_tickets(self) -> pa.Table:
        rng = self.rng
        m = len(self.o_t)
        ot = np.flatnonzero(rng.random(m) < 0.05)
        t1 = self.o_t[ot] + rng.integers(HOUR * 5, 20 * DAY, len(ot))
        topic1 = rng.choice(6, size=len(ot), p=[0.35, 0.2, 0.15, 0.1, 0.12, 0.08])
        crm_people = np.flatnonzero(self.person_rec >= 0)
        other = crm_people[rng.random(len(crm_people)) < 0.02]
        t2 = self.random_times(len(other), self.rec_v0[self.person_rec[other]])
        topic2 = rng.choice([2, 4, 5], size=len(other), p=[0.4, 0.3, 0.3])
        person = np.concatenate([self.o_person[ot], other])
        order = np.concatenate([ot, np.full(len(other), -1)])
        t = np.concatenate([t1, t2])
        topic = np.concatenate([topic1, topic2])
        keep = t < self.t_end
        person, order, t, topic = person[keep], order[keep], t[keep], topic[keep]
        k = len(t)
        prim = self.person_rec[person]
        dup = self.person_dup[person]
        rec = np.where((prim >= 0) & (self.rec_v0[np.maximum(prim, 0)] <= t) & (rng.random(k) < 0.85), prim, -1)
        use_dup = (dup >= 0) & (rec >= 0) & (self.rec_v0[np.maximum(dup, 0)] <= t) & (rng.random(k) < 0.3)
        rec = np.where(use_dup, dup, rec)
        channel = rng.choice(3, size=k, p=[0.5, 0.3, 0.2])  # email chat phone
        with_email = (channel == 0) | ((channel == 1) & (rng.random(k) < 0.7)) | (rec < 0)
        channel = np.where((rec < 0) & (channel == 2), 0, channel)
        email = np.where(with_email, self.email_choice(person), -1)
        solved_t = t + HOUR + rng.exponential(1.5 * DAY, k).astype(np.int64)
        solved = (solved_t < self.t_end) & (rng.random(k) < 0.97)
        status = np.where(solved, 2, np.where(rng.random(k) < 0.5, 0, 1))  # open pending solved
        csat = np.where(solved & (rng.random(k) < 0.4), rng.choice([1, 2, 3, 4, 5], size=k, p=[0.06, 0.07, 0.15, 0.32, 0.4]), -1)
        self.ticket_emails = email[email >= 0]
        rank = np.lexsort((person, t))
        ids = np.empty(k, dtype=np.int64)
        ids[rank] = np.arange(k)
        tbl = pa.table({
            "ticket_id": _cat(ids, _seq_ids("T", k, 7, start=5_000_001)),
            "crm_customer_id": _cat(np.where(rec >= 0, self.rec_id[np.maximum(rec, 0)], -1), self.crm_ids),
            "email": _cat(email, self.email_variants),
            "order_id": _cat(order, self.o_ids),
            "channel": _cat(channel, ["email", "chat", "phone"]),
            "topic": _cat(topic, ["delivery", "return", "product_question", "payment", "warranty", "account"]),
            "status": _cat(status, ["open", "pending", "solved"]),
            "priority": _cat(rng.choice(3, size=k, p=[0.2, 0.65, 0.15]), ["low", "normal", "high"]),
            "satisfaction_score": _opt(np.maximum(csat, 1).astype(np.int32), csat < 0),
            "created_at": t,
            "solved_at": _opt(solved_t, ~solved),
            "_day": self.day_of(t),
        })
        return tbl.take(pa.array(rank))

    # -------------------------------------------------------------- consents and e-mail
    def build_consents_and_email(self) -> tuple[pa.Table, pa.Table]:
        rng = self.rng
        nr = len(self.rec_person)
        t0 = self.rec_v0
        sub = self.person_sub[self.rec_person] & ~self.rec_is_dup
        grant_p = np.stack([np.where(sub, 1.0, 0.5), np.full(nr, 0.15), np.full(nr, 0.6)], 1)
        grant0 = rng.random((nr, 3)) < grant_p
        flip = rng.random((nr, 3)) < 0.05
        flip_t = t0[:, None] + HOUR + (rng.random((nr, 3)) * np.maximum(self.t_end - t0 - HOUR, 0)[:, None]).astype(np.int64)
        flip_t = np.where(flip & (flip_t < self.t_end), flip_t, NEVER)
        sources = ["checkout", "account_page", "email_link", "store", "support"]
        # record creation source (checkout, store, account_page, -, support) -> consent source
        rec_source = np.array([0, 3, 1, 1, 4])[self.rec_src]
        c_rec = [np.repeat(np.arange(nr), 3)]
        c_ch = [np.tile(np.arange(3), nr)]
        c_granted = [grant0.ravel()]
        c_src = [np.repeat(rec_source, 3)]
        c_t = [np.repeat(t0, 3) + np.tile(np.arange(3), nr)]
        fr, fc = np.nonzero(flip_t < NEVER)
        c_rec.append(fr)
        c_ch.append(fc)
        c_granted.append(~grant0[fr, fc])
        c_src.append(np.where(rng.random(len(fr)) < 0.7, 1, 4))
        c_t.append(flip_t[fr, fc])
        # weekly newsletter on Tuesdays 08:00 UTC
        d0 = self.start_date
        first = d0 + timedelta(days=(1 - d0.weekday()) % 7)
        campaigns = []
        d = first
        while d <= self.end_date:
            campaigns.append(d)
            d += timedelta(days=7)
        has_email = np.ones(nr, bool)
        unsub = np.zeros(nr, bool)
        bounced = np.zeros(nr, bool)
        ev_rec, ev_camp, ev_type, ev_url, ev_t = [], [], [], [], []
        urls, camp_ids = [], []
        # clicks: record, time, product of the clicked link, campaign (the web sessions they start)
        k_rec, k_t, k_prod, k_camp = ([np.zeros(0, np.int64)] for _ in range(4))
        for ci, day in enumerate(campaigns):
            iso = day.isocalendar()
            camp_ids.append(f"NL-{iso[0]}-W{iso[1]:02d}")
            T = int(datetime(day.year, day.month, day.day, 8, tzinfo=timezone.utc).timestamp())
            picks = rng.choice(self.evergreen, size=4, replace=False, p=self.evergreen_p)
            u0 = len(urls)
            urls += [f"{self.pf.shop_url}/p/{self.p_slug[p]}?utm_source=newsletter&utm_medium=email&utm_campaign={camp_ids[-1]}"
                     for p in picks]
            state = grant0[:, 0] ^ (flip_t[:, 0] <= T)
            eligible = (t0 <= T) & state & has_email & ~unsub & ~bounced
            rnd = rng.random((nr, 5))
            send = np.flatnonzero(eligible & (rnd[:, 0] < 0.97))
            st = T + (rnd[send, 1] * 1800).astype(np.int64)
            bounce = rnd[send, 2] < 0.008
            opened = ~bounce & (rnd[send, 3] < 0.25)
            clicked = opened & (rnd[send, 4] < 0.16)
            unsubscribed = opened & ~clicked & (rnd[send, 4] > 0.99)
            open_t = st + 60 + rng.exponential(6 * HOUR, len(send)).astype(np.int64)
            click_t = open_t + 5 + rng.exponential(120, len(send)).astype(np.int64)
            uns_t = open_t + 10 + rng.exponential(60, len(send)).astype(np.int64)
            url = u0 + rng.integers(0, 4, len(send))
            k_rec.append(send[clicked])
            k_t.append(click_t[clicked])
            k_prod.append(picks[url[clicked] - u0])
            k_camp.append(np.full(int(clicked.sum()), ci))
            for mask, typ, tt, with_url in [(np.ones(len(send), bool), 0, st, False), (opened, 1, open_t, False),
                                            (clicked, 2, click_t, True), (bounce, 3, st + 30, False),
                                            (unsubscribed, 4, uns_t, False)]:
                ev_rec.append(send[mask])
                ev_camp.append(np.full(int(mask.sum()), ci))
                ev_type.append(np.full(int(mask.sum()), typ))
                ev_url.append(url[mask] if with_url else np.full(int(mask.sum()), -1))
                ev_t.append(tt[mask])
            bounced[send[bounce]] = True
            unsub[send[unsubscribed]] = True
            c_rec.append(send[unsubscribed])
            c_ch.append(np.zeros(int(unsubscribed.sum()), np.int64))
            c_granted.append(np.zeros(int(unsubscribed.sum()), bool))
            c_src.append(np.full(int(unsubscribed.sum()), 2))
            c_t.append(uns_t[unsubscribed])
        self._email_clicks(*(np.concatenate(x) for x in (k_rec, k_t, k_prod, k_camp)), camp_ids)
        # consents
        crec, cch, cgr, csrc, ct = (np.concatenate(x) for x in (c_rec, c_ch, c_granted, c_src, c_t))
        keep = ct < self.t_end
        crec, cch, cgr, csrc, ct = crec[keep], cch[keep], cgr[keep], csrc[keep], ct[keep]
        rank = np.lexsort((cch, self.rec_id[crec], ct))
        k = len(ct)
        ids = np.empty(k, dtype=np.int64)
        ids[rank] = np.arange(k)
        consents = pa.table({
            "consent_event_id": _cat(ids, _seq_ids("MC", k, 8, start=10_000_001)),
            "crm_customer_id": _cat(self.rec_id[crec], self.crm_ids),
            "channel": _cat(cch, ["email", "sms", "personalization"]),
            "is_granted": pa.array(cgr),
            "source": _cat(csrc, sources),
            "recorded_at": ct,
            "_day": self.day_of(ct),
        }).take(pa.array(rank))
        erec, ecamp, etype, eurl, et = (np.concatenate(x) for x in (ev_rec, ev_camp, ev_type, ev_url, ev_t))
        keep = et < self.t_end
        erec, ecamp, etype, eurl, et = erec[keep], ecamp[keep], etype[keep], eurl[keep], et[keep]
        rank = np.lexsort((etype, self.rec_id[erec], et))
        k = len(et)
        ids = np.empty(k, dtype=np.int64)
        ids[rank] = np.arange(k)
        emails = pa.table({
            "email_event_id": _cat(ids, _seq_ids("EE", k, 9, start=100_000_001)),
            "crm_customer_id": _cat(self.rec_id[erec], self.crm_ids),
            "campaign_id": _cat(ecamp, camp_ids),
            "event_type": _cat(etype, ["send", "open", "click", "bounce", "unsubscribe"]),
            "url": _cat(eurl, urls),
            "occurred_at": et,
            "_day": self.day_of(et),
        }).take(pa.array(rank))
        return consents, emails

    def _email_clicks(self, rec: np.ndarray, t: np.ndarray, prod: np.ndarray, camp: np.ndarray,
                      camp_ids: list[str]) -> None:
        """Remember the newsletter clicks: each one lands on the shop (build_web) with the link's
        UTM parameters and the subscriber token the ESP's click redirect appends."""
        rng = self.rng
        keep = t < self.t_end
        rec, t, prod, camp = rec[keep], t[keep], prod[keep], camp[keep]
        n_crm = len(self.crm_ids)
        token = self.rec_id[rec].astype(np.int64)  # index into the subscriber tokens: the CRM id
        # one newsletter of the window went out with an unrendered merge tag in its links
        broken = int(rng.integers(0, max(len(camp_ids), 1)))
        token = np.where(camp == broken, n_crm, token)
        u = rng.random(len(t))
        junk = n_crm + 1 + (rng.random(len(t)) * (len(JUNK_SUBSCRIBER_TOKENS) - 1)).astype(np.int64)
        token = np.where(u < SUBSCRIBER_TOKEN_STRIPPED_P, -1,
                         np.where(u < SUBSCRIBER_TOKEN_STRIPPED_P + SUBSCRIBER_TOKEN_EMPTY_P, junk, token))
        self.click_person = self.rec_person[rec]
        self.click_t, self.click_prod, self.click_camp, self.click_token = t, prod, camp, token
        self.newsletter_ids = camp_ids
        self.sub_tokens = self.crm_ids.to_pylist() + JUNK_SUBSCRIBER_TOKENS

    # -------------------------------------------------------------- reviews
    def build_reviews(self) -> pa.Table:
        rng = self.rng
        lo = self.l_order
        nl = len(lo)
        returned = np.zeros(nl, bool)
        returned[self.ret_line] = True
        sel = (self.o_status[lo] == 2) & (rng.random(nl) < 0.10)
        t = self.o_t[lo] + rng.integers(5 * DAY, 45 * DAY, nl)
        sel = np.flatnonzero(sel & (t < self.t_end))
        k = len(sel)
        happy = rng.choice(5, size=k, p=[0.04, 0.05, 0.11, 0.30, 0.50])
        sad = rng.choice(5, size=k, p=[0.3, 0.22, 0.2, 0.18, 0.1])
        rating = np.where(returned[sel], sad, happy) + 1
        nu = max(3, k // 10)  # unverified reviews: anyone can write one
        u_prod = rng.choice(self.n_products, size=nu, p=self.all_p)
        u_acct = np.where(rng.random(nu) < 0.5, rng.integers(0, len(self.acct_ids), nu), -1)
        u_t = self.random_times(nu, np.maximum(self.p_launch[u_prod], self.t0))
        u_rating = rng.choice(5, size=nu, p=[0.15, 0.08, 0.1, 0.22, 0.45]) + 1
        product = np.concatenate([self.l_prod[sel], u_prod])
        acct = np.concatenate([self.o_oms[lo[sel]], u_acct])
        tt = np.concatenate([t[sel], u_t])
        rating = np.concatenate([rating, u_rating])
        verified = np.concatenate([np.ones(k, bool), np.zeros(nu, bool)])
        n = k + nu
        text0 = np.cumsum([0] + [len(REVIEW_TEXT[r]) for r in range(1, 5)])
        nt = np.array([len(REVIEW_TEXT[r]) for r in range(1, 6)])
        text = text0[rating - 1] + (rng.random(n) * nt[rating - 1]).astype(np.int64)
        titles = [tt_ for r in range(1, 6) for tt_, _ in REVIEW_TEXT[r]]
        bodies = [b for r in range(1, 6) for _, b in REVIEW_TEXT[r]]
        no_text = rng.random(n) < 0.2  # star-only reviews
        self.review_accts = np.unique(acct[acct >= 0])
        rank = np.lexsort((product, tt))
        ids = np.empty(n, dtype=np.int64)
        ids[rank] = np.arange(n)
        return pa.table({
            "review_id": _cat(ids, _seq_ids("RV", n, 7, start=1_000_001)),
            "product_id": _cat(product, self.p_ids),
            "oms_customer_id": _cat(acct, self.acct_ids),
            "rating": rating.astype(np.int32),
            "title": _cat(np.where(no_text, -1, text), titles),
            "body": _cat(np.where(no_text, -1, text), bodies),
            "is_verified_purchase": pa.array(verified),
            "submitted_at": tt,
            "_day": self.day_of(tt),
        }).take(pa.array(rank))

    # -------------------------------------------------------------- products
    def products_table(self) -> pa.Table:
        n = self.n_products
        idx = np.arange(n)
        # full catalog on the first day (new products a week before launch), then changes
        first_t = np.maximum(self.p_launch - 7 * DAY, self.t0 + HOUR)
        rows_p = [idx, np.flatnonzero(self.p_change_t < NEVER), np.flatnonzero(self.p_deact < self.t_end)]
        rows_t = [first_t, self.p_change_t[rows_p[1]], self.p_deact[rows_p[2]]]
        p = np.concatenate(rows_p)
        t = np.concatenate(rows_t)
        o = np.lexsort((t, p))
        p, t = p[o], t[o]
        last_of_day = _last_per_day(p, t)
        p, t = p[last_of_day], t[last_of_day]
        active = ~self.p_inactive0[p] & (self.p_deact[p] > t)
        price = self.price_at(p, t)
        order = np.lexsort((p, t))
        return pa.table({
            "product_id": _cat(p, self.p_ids),
            "name": _cat(p, self.p_names),
            "brand": _cat(p, self.p_brands),
            "category_path": _cat(p, self.p_path),
            "price": price,
            "cost": _opt(self.p_cost[p], self.p_cost_missing[p]),
            "currency": _cat(np.zeros(len(p), int), [self.pf.currency]),
            "description": _cat(p, self.p_desc),
            "specs": _cat(p, self.p_specs),
            "is_active": pa.array(active),
            "launched_at": self.p_launch[p],
            "updated_at": t,
            "_day": self.day_of(t),
        }).take(pa.array(order))

    def locations_table(self) -> pa.Table:
        k = self.n_loc
        tbl = pa.table({
            "location_id": pa.array(self.loc_ids),
            "location_type": _cat(np.where(self.loc_is_wh, 0, 1), ["warehouse", "store"]),
            "name": pa.array(self.loc_names),
            "city": pa.array(self.loc_city),
            "country": pa.array([self.pf.countries[0]] * k),
            "latitude": _opt(self.loc_lat, self.loc_no_coords),
            "longitude": _opt(self.loc_lon, self.loc_no_coords),
            "is_click_and_collect": pa.array(self.loc_cc),
            "_day": np.full(k, self.day0, dtype=np.int32),
        })
        if any(r is not None for r in self.loc_region):
            tbl = tbl.append_column("region", pa.array(self.loc_region, pa.string()))
            tbl = tbl.append_column("postal_code", pa.array(self.loc_postal, pa.string()))
        return tbl

    # -------------------------------------------------------------- inventory
    def build_inventory(self) -> tuple[pa.Table, pa.Table]:
        rng, s = self.rng, self.s
        nw, days, n_p = s.warehouses, s.days, self.n_products
        # Which location stocks what: warehouse 1 everything sold, other warehouses the popular
        # half, stores their assortment.
        sold_ever = ~self.p_inactive0
        popular_half = self.p_pop >= np.median(self.p_pop)
        lookup = np.full((self.n_loc, n_p), -1, dtype=np.int64)
        pair_loc, pair_prod = [], []
        n_pairs_so_far = 0
        for loc in range(self.n_loc):
            if loc == 0:
                prods = np.flatnonzero(sold_ever)
            elif loc < nw:
                prods = np.flatnonzero(sold_ever & popular_half)
            else:
                prods = self.assortment[loc - nw]
            lookup[loc, prods] = n_pairs_so_far + np.arange(len(prods))
            n_pairs_so_far += len(prods)
            pair_loc.append(np.full(len(prods), loc))
            pair_prod.append(prods)
        pair_loc = np.concatenate(pair_loc)
        pair_prod = np.concatenate(pair_prod)
        npairs = len(pair_loc)
        # demand per pair and day from non-cancelled order lines
        lo = self.l_order
        live = self.o_status[lo] != 3
        store_line = self.o_channel[lo] == 2
        wh = rng.integers(0, nw, len(lo))
        pair = np.where(store_line, lookup[np.maximum(self.o_store[lo], 0), self.l_prod], lookup[wh, self.l_prod])
        pair = np.where(pair < 0, lookup[0, self.l_prod], pair)
        day = (self.o_t[lo] - self.t0) // DAY
        sel = live & (pair >= 0)
        demand = np.bincount(pair[sel] * days + day[sel], weights=self.l_qty[sel],
                             minlength=npairs * days).astype(np.int32).reshape(npairs, days)
        mu = demand.mean(1) + 0.02
        is_wh = self.loc_is_wh[pair_loc]
        target = np.ceil(mu * np.where(is_wh, 21, 14)).astype(np.int64) + 2
        rop = np.ceil(mu * 7).astype(np.int64) + 1
        start_day = np.clip((np.maximum(self.p_launch[pair_prod] - 5 * DAY, self.t0) - self.t0) // DAY, 0, days)
        on_hand = np.zeros(npairs, dtype=np.int64)
        init = rng.integers(rop, target + 1)
        init = np.where(rng.random(npairs) < 0.02, 0, init)  # some start out of stock
        slow = rng.random(npairs) < 0.04  # supplier problems: long lead times
        stops = self.p_deact[pair_prod]
        R = 64
        ring = np.zeros((R, npairs), dtype=np.int64)
        in_transit = np.zeros(npairs, dtype=np.int64)
        hist_on = np.zeros((days, npairs), dtype=np.int32)
        hist_res = np.zeros((days, npairs), dtype=np.int32)
        sh = {k: [] for k in ("pair", "qty", "ann", "exp", "arr")}
        for d in range(days):
            arrived = ring[d % R]
            on_hand += arrived
            in_transit -= arrived
            ring[d % R] = 0
            new = start_day == d
            on_hand[new] = init[new]
            sold = np.minimum(on_hand, demand[:, d])
            on_hand -= sold
            reserved = np.minimum(on_hand, np.where(is_wh, rng.binomial(demand[:, d], 0.35),
                                                    rng.poisson(0.05, npairs)))
            hist_on[d] = on_hand
            hist_res[d] = reserved
            day_t = self.t0 + d * DAY
            reorder = np.flatnonzero((d >= start_day) & (on_hand + in_transit <= rop) & (stops > day_t + DAY))
            if len(reorder):
                qty = target[reorder] - on_hand[reorder] - in_transit[reorder]
                lead = rng.integers(2, 8, len(reorder)) + np.where(slow[reorder], rng.integers(8, 25, len(reorder)), 0)
                delay = rng.choice([-1, 0, 1, 2, 4], size=len(reorder), p=[0.05, 0.75, 0.1, 0.06, 0.04])
                arrive = d + np.maximum(lead + delay, 1)
                ann = day_t + rng.integers(7 * HOUR, 18 * HOUR, len(reorder))
                sh["pair"].append(reorder)
                sh["qty"].append(qty)
                sh["ann"].append(ann)
                sh["exp"].append(self.t0 + (d + lead) * DAY + 10 * HOUR)
                sh["arr"].append(arrive)
                in_transit[reorder] += qty
                inside = arrive < days
                np.add.at(ring, (arrive[inside] % R, reorder[inside]), qty[inside])
        # snapshots: warehouses list every stocked product (0 = stock-out); stores drop empty shelves
        show = (np.arange(days)[:, None] >= start_day[None, :]) & (is_wh[None, :] | (hist_on > 0) | (hist_res > 0))
        if self.pf.snapshot_weekday is not None:
            # one full count a week: every product a location carries, empty shelves included
            weekday = (self.day0 + np.arange(days) + 3) % 7  # 1970-01-01 was a Thursday (3)
            show = (np.arange(days)[:, None] >= start_day[None, :]) & (weekday == self.pf.snapshot_weekday)[:, None]
        d_idx, p_idx = np.nonzero(show)
        snap_day = (self.day0 + d_idx).astype(np.int32)
        snaps = pa.table({
            "snapshot_date": pa.array(snap_day, pa.date32()),
            "product_id": _cat(pair_prod[p_idx], self.p_ids),
            "location_id": _cat(pair_loc[p_idx], self.loc_ids),
            "on_hand": hist_on[d_idx, p_idx],
            "reserved": hist_res[d_idx, p_idx],
            "snapshot_at": (snap_day.astype(np.int64) + 1) * DAY - 1,
            "_day": snap_day,
        })
        # order within a day: location, product (pairs are built in that order; products sorted by id)
        sp, sq, sa, se, sr = (np.concatenate(sh[k]) if sh[k] else np.zeros(0, np.int64)
                              for k in ("pair", "qty", "ann", "exp", "arr"))
        received = sr < days
        recv_t = self.t0 + sr * DAY + rng.integers(6 * HOUR, 16 * HOUR, len(sr))
        rank = np.lexsort((sp, sa))
        k = len(sa)
        ids = np.empty(k, dtype=np.int64)
        ids[rank] = np.arange(k)
        shipments = pa.table({
            "shipment_id": _cat(ids, _seq_ids("SH", k, 8, start=10_000_001)),
            "product_id": _cat(pair_prod[sp], self.p_ids),
            "location_id": _cat(pair_loc[sp], self.loc_ids),
            "quantity": sq.astype(np.int32),
            "announced_at": sa,
            "expected_at": se,
            "received_at": _opt(recv_t, ~received),
            "_day": self.day_of(sa),
        }).take(pa.array(rank))
        return snaps, shipments

    # -------------------------------------------------------------- ground truth
    def ground_truth(self) -> pa.Table:
        persons, types, values = [], [], []

        def add(person: np.ndarray, kind: str, values_arr: pa.Array) -> None:
            persons.append(np.asarray(person))
            types.append(kind)
            values.append(values_arr)

        dev = self.web_devices_seen
        add(self.dev_person[dev], "anonymous_id", self.dev_ids.take(pa.array(dev)))
        accts = np.unique(np.concatenate([self.o_oms[self.o_oms >= 0], self.web_users_seen, self.crm_oms_seen,
                                          self.review_accts, self.ret_other_accts]))
        add(self.acct_person[accts], "oms_customer_id", self.acct_ids.take(pa.array(accts)))
        add(self.rec_person, "crm_customer_id", self.crm_ids.take(pa.array(self.rec_id)))
        emails = np.unique(np.concatenate([self.o_email, self.rec_email, self.ticket_emails, self.web_emails_seen]))
        emails = emails[emails >= 0]  # orders without an e-mail
        # placeholder e-mails typed for many different walk-in customers belong to nobody
        e_person = np.where(emails >= self.junk_email0, -1, emails // N_EMAIL_VARIANTS)
        add(e_person, "email", self.email_variants.take(pa.array(emails)))
        phones = np.unique(np.concatenate([self.o_phone, self.crm_phone_rows, self.web_phones_seen]))
        phones = phones[phones >= 0]
        add(phones // N_PHONE_VARIANTS, "phone", self.phone_variants.take(pa.array(phones)))
        person = np.concatenate(persons)
        pid = [f"P{p + 1:06d}" if p >= 0 else "shared" for p in person.tolist()]
        tbl = pa.table({
            "person_id": pa.array(pid, pa.string()),
            "identifier_type": pa.array([t for t, v in zip(types, values) for _ in range(len(v))], pa.string()),
            "identifier_value": pa.concat_arrays([v.cast(pa.string()) for v in values]),
        })
        return tbl.sort_by([("person_id", "ascending"), ("identifier_type", "ascending"),
                            ("identifier_value", "ascending")])


# ---------------------------------------------------------------------------------- entry point

def generate(landing_dir: Path, *, scale: str | float = "small", seed: int = 42, end_date: date = date(2026, 10, 31),
             ground_truth_dir: Path | None = None, world: str | WorldProfile = "default") -> dict:
    """Write landing files for the source entities a world's retailer has (all 13 for the
    default shop) and the identity ground truth.

    Returns {entity name: rows written, ..., "seconds": run time}. Previous files of the five
    systems under `landing_dir` (and the previous ground truth) are removed first, so a re-run
    with the same arguments reproduces the tree byte for byte. A source the retailer does not
    have (web analytics, reviews) gets no folder at all.
    """
    started = time.perf_counter()
    sizes = resolve_scale(scale)
    profile = resolve_world(world)
    landing_dir = Path(landing_dir)
    gt_dir = Path(ground_truth_dir) if ground_truth_dir is not None else landing_dir.parent / "ground_truth"
    for system in SYSTEMS:
        shutil.rmtree(landing_dir / system, ignore_errors=True)
    (gt_dir / "identities.parquet").unlink(missing_ok=True)

    world = _World(sizes, seed, end_date, profile)
    writer = _Writer(landing_dir)
    summary: dict[str, float] = {}

    def write(name: str, table: pa.Table, **kw) -> None:
        summary[name] = writer.write(CONTRACTS_BY_NAME[name], table, **kw)

    world.build_people()
    world.build_devices()
    world.build_products()
    world.build_locations()
    world.build_orders()
    crm_customers = world.build_crm()
    tickets = world.build_tickets()
    consents, email_events = world.build_consents_and_email()  # the newsletter clicks start web sessions
    if profile.has_web:
        events = world.build_web()  # also assigns the orders' cart ids
        write("web__events", events, order=world.web_order, render=world.web_json)
        del events
    else:  # a source the retailer does not have: an empty landing folder says so
        (landing_dir / "web" / "events").mkdir(parents=True, exist_ok=True)
    write("oms__orders", world.orders_table())
    write("oms__order_lines", world.order_lines_table())
    write("oms__returns", world.build_returns())
    write("crm__customers", crm_customers)
    write("crm__support_tickets", tickets)
    write("crm__email_events", email_events)
    write("crm__marketing_consents", consents)
    write("pim__products", world.products_table())
    if profile.has_reviews:
        write("pim__reviews", world.build_reviews())
    else:
        (landing_dir / "pim" / "reviews").mkdir(parents=True, exist_ok=True)
    write("wms__locations", world.locations_table())
    snapshots, shipments = world.build_inventory()
    write("wms__inventory_snapshots", snapshots)
    write("wms__inbound_shipments", shipments)

    gt_dir.mkdir(parents=True, exist_ok=True)
    truth = world.ground_truth()
    pq.write_table(truth, gt_dir / "identities.parquet", compression="zstd")
    summary["ground_truth_identifiers"] = truth.num_rows
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary
