"""The demo shop's reference data and profile (VOLTMARKT): a German consumer-electronics web shop
with stores. Its names, cities, catalogue and locations; how it is simulated lives in the domain
modules (people.py, catalog.py, orders.py, ...)."""

from __future__ import annotations

from dagster_project.sample_data.profile import WorldProfile

SHOP_URL = "https://www.voltmarkt.de"

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
ACCESSORY_CATEGORIES = {"Accessories > Chargers", "Accessories > Cables", "Accessories > Cases"}

WAREHOUSES = [("Kassel", 51.3127, 9.4797), ("Erfurt", 50.9848, 11.0299), ("Dortmund", 51.5136, 7.4653),
              ("Leipzig", 51.3397, 12.3731)]
STORES = [("Berlin", 52.5200, 13.4050), ("Hamburg", 53.5511, 9.9937), ("München", 48.1351, 11.5820),
          ("Köln", 50.9375, 6.9603), ("Frankfurt am Main", 50.1109, 8.6821), ("Stuttgart", 48.7758, 9.1829),
          ("Düsseldorf", 51.2277, 6.7735), ("Leipzig", 51.3397, 12.3731), ("Dortmund", 51.5136, 7.4653),
          ("Essen", 51.4556, 7.0116), ("Bremen", 53.0793, 8.8017), ("Dresden", 51.0504, 13.7373),
          ("Hannover", 52.3759, 9.7320), ("Nürnberg", 49.4521, 11.0767), ("Bonn", 50.7374, 7.0982),
          ("Münster", 51.9607, 7.6261), ("Mannheim", 49.4875, 8.4660), ("Karlsruhe", 49.0069, 8.4037),
          ("Augsburg", 48.3705, 10.8978), ("Wiesbaden", 50.0782, 8.2398)]


# The demo shop: a German consumer-electronics web shop with stores.
VOLTMARKT = WorldProfile(
    name="default", shop_url=SHOP_URL, currency="EUR", countries=COUNTRIES, country_p=COUNTRY_P,
    first_names=FIRST_NAMES, last_names=LAST_NAMES, cities=CITIES, streets=STREETS, email_domains=EMAIL_DOMAINS,
    phone_prefixes=PHONE_PREFIXES, junk_emails=tuple(JUNK_EMAILS), categories=CATEGORIES,
    accessory_categories=frozenset(ACCESSORY_CATEGORIES), warehouses=WAREHOUSES, stores=STORES,
    warehouse_name="Voltmarkt Logistikzentrum {city}", store_name="Voltmarkt {city}",
)
