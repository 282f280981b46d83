"""The second sample retailer: a US furniture and appliances chain ("Hearth & Harbor") that sells
in showrooms, by phone, on its website and on marketplaces.

It is shaped differently from the demo shop on purpose: high-ticket orders (a kitchen on one
order), freight delivery charges, sales tax added on top of prices, anonymous store sales, call
centre orders with a phone number but often no e-mail, marketplace orders without either, no web
analytics and no product reviews, weekly stock counts, returns worded in the OMS's own terms
(some of orders older than the first orders file, some brought back by a gift recipient), US
addresses, ZIP codes, states and phone numbers as people write them."""

from __future__ import annotations

from dagster_project.sample_data.profile import WorldProfile

SHOP_URL = "https://www.hearthandharbor.com"

FIRST_NAMES = {"US": [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Ashley", "Mark", "Emily", "José", "María", "Luis", "Sofia",
    "Wei", "Mei", "Hiroshi", "Priya", "Rahul", "Aaliyah", "DeShawn", "Kayla", "Tyler", "Brittany", "Nguyen", "Chloe",
]}
LAST_NAMES = {"US": [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Chen", "Patel", "Kim", "O'Brien", "Washington",
]}
# city, first ZIP, ZIP span, state, phone area codes, combined sales-tax rate
CITIES = {"US": [
    ("New York", 10001, 280, "NY", ["212", "646", "917"], 0.08875),
    ("Los Angeles", 90001, 90, "CA", ["213", "310", "323"], 0.095),
    ("Chicago", 60601, 60, "IL", ["312", "773"], 0.1025),
    ("Houston", 77001, 99, "TX", ["713", "832"], 0.0825),
    ("San Francisco", 94102, 40, "CA", ["415", "628"], 0.08625),
    ("Seattle", 98101, 99, "WA", ["206"], 0.1035),
    ("Dallas", 75201, 50, "TX", ["214", "972"], 0.0825),
    ("Atlanta", 30303, 40, "GA", ["404", "678"], 0.089),
    ("Miami", 33125, 60, "FL", ["305", "786"], 0.07),
    ("Denver", 80202, 50, "CO", ["303", "720"], 0.0881),
    ("Boston", 2108, 30, "MA", ["617", "857"], 0.0625),
    ("Phoenix", 85001, 50, "AZ", ["602", "480"], 0.086),
    ("Philadelphia", 19102, 50, "PA", ["215", "267"], 0.08),
    ("San Diego", 92101, 80, "CA", ["619", "858"], 0.0775),
    ("Austin", 78701, 50, "TX", ["512", "737"], 0.0825),
    ("Portland", 97201, 30, "OR", ["503", "971"], 0.0),
    ("Minneapolis", 55401, 50, "MN", ["612"], 0.08025),
    ("Brooklyn", 11201, 40, "NY", ["718", "347"], 0.08875),
]}
STREETS = {"US": ["Main St", "Oak Ave", "Maple Dr", "Park Ave", "Elm St", "Washington Blvd", "Lakeview Dr",
                  "Cedar Ln", "Sunset Blvd", "Pine St", "Highland Ave", "Broadway", "Madison Ave", "Riverside Dr"]}
EMAIL_DOMAINS = {"US": ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
                        "comcast.net", "att.net"]}
# What store associates type when a buyer will not give an e-mail.
JUNK_EMAILS = ("noemail@example.com", "none@none.invalid", "declined@example.com")

# leaf path, share, popularity, price range (USD), brands, name, specs, search terms, often
# defective, delivery fee per unit (cents; 0 = parcel)
CATEGORIES = [
    ("Furniture > Sofas", 0.10, 1.4, (799, 4999), ["Harbor & Pine", "Ashcroft", "Sterling Home", "Lakeside Living"],
     "{seats}-Seat {material} Sofa", {"seats": [2, 3, 4], "material": ["Fabric", "Leather", "Performance Velvet"],
                                      "color": ["Slate", "Oatmeal", "Navy", "Cognac"]},
     ["sofa", "leather sofa", "3 seat couch"], False, 19_900),
    ("Furniture > Sectionals", 0.06, 0.8, (1499, 7999), ["Harbor & Pine", "Ashcroft", "Sterling Home"],
     "{pieces}-Piece {material} Sectional", {"pieces": [2, 3, 4, 5], "material": ["Fabric", "Leather"],
                                             "orientation": ["left", "right", "U-shape"]},
     ["sectional", "modular sofa"], False, 34_900),
    ("Furniture > Beds", 0.08, 1.0, (599, 3999), ["Ashcroft", "Northwood", "Sterling Home"],
     "{size} Platform Bed", {"size": ["Full", "Queen", "King", "California King"], "wood": ["Oak", "Walnut", "Ash"],
                             "storage": [True, False]},
     ["king bed", "platform bed"], False, 14_900),
    ("Furniture > Mattresses", 0.07, 1.2, (499, 3499), ["Restwell", "Cloudline", "Northwood"],
     "{size} {firmness} Mattress", {"size": ["Twin", "Full", "Queen", "King"], "firmness": ["Plush", "Medium", "Firm"],
                                    "type": ["Hybrid", "Memory Foam", "Innerspring"]},
     ["queen mattress", "hybrid mattress"], True, 9_900),
    ("Furniture > Dining Tables", 0.06, 0.8, (399, 2999), ["Northwood", "Harbor & Pine", "Ashcroft"],
     "{seats}-Seat {wood} Dining Table", {"seats": [4, 6, 8, 10], "wood": ["Oak", "Walnut", "Reclaimed Pine"],
                                          "extendable": [True, False]},
     ["dining table", "extendable table"], False, 14_900),
    ("Furniture > Dining Chairs", 0.07, 1.6, (99, 599), ["Northwood", "Harbor & Pine"],
     "{material} Dining Chair", {"material": ["Oak", "Upholstered", "Metal"], "arms": [True, False]},
     ["dining chairs"], False, 2_500),
    ("Furniture > Recliners", 0.05, 0.7, (499, 2499), ["Restwell", "Ashcroft"],
     "{mechanism} Recliner", {"mechanism": ["Power", "Manual", "Wall-hugger"], "material": ["Leather", "Fabric"]},
     ["recliner", "power recliner"], True, 12_900),
    ("Furniture > Dressers", 0.05, 0.7, (399, 1999), ["Northwood", "Sterling Home"],
     "{drawers}-Drawer Dresser", {"drawers": [4, 6, 8, 9], "wood": ["Oak", "Walnut", "White Lacquer"]},
     ["dresser"], False, 12_900),
    ("Appliances > Refrigerators", 0.08, 1.0, (1299, 19999), ["Frostline", "KitchenCraft", "Everest Pro", "Vantage"],
     "{capacity_cuft} cu. ft. {style} Refrigerator", {"capacity_cuft": [18, 22, 26, 28, 30],
                                                      "style": ["French Door", "Side-by-Side", "Built-in Column"],
                                                      "finish": ["Stainless", "Black Stainless", "Panel-ready"]},
     ["french door refrigerator", "built in fridge"], True, 19_900),
    ("Appliances > Ranges", 0.07, 0.8, (999, 24999), ["KitchenCraft", "Everest Pro", "Vantage"],
     '{width_in}" {fuel} Range', {"width_in": [30, 36, 48, 60], "fuel": ["Gas", "Dual Fuel", "Induction"],
                                  "burners": [4, 5, 6, 8]},
     ["gas range", "induction range 36"], True, 19_900),
    ("Appliances > Dishwashers", 0.06, 1.0, (499, 2499), ["KitchenCraft", "Vantage", "Frostline"],
     "{db}-dBA Dishwasher", {"db": [38, 42, 44, 48], "third_rack": [True, False],
                            "finish": ["Stainless", "Panel-ready"]},
     ["quiet dishwasher"], True, 12_900),
    ("Appliances > Wall Ovens", 0.04, 0.5, (1999, 11999), ["Everest Pro", "KitchenCraft"],
     '{width_in}" {config} Wall Oven', {"width_in": [27, 30], "config": ["Single", "Double", "Combination"],
                                       "steam": [True, False]},
     ["double wall oven"], True, 24_900),
    ("Appliances > Range Hoods", 0.04, 0.5, (299, 3999), ["Vantage", "Everest Pro"],
     '{width_in}" {mount} Range Hood', {"width_in": [30, 36, 48], "mount": ["Wall", "Island", "Insert"],
                                       "cfm": [400, 600, 900, 1200]},
     ["range hood"], False, 14_900),
    ("Appliances > Laundry", 0.07, 1.1, (599, 2299), ["Frostline", "Vantage"],
     "{capacity_cuft} cu. ft. {kind}", {"capacity_cuft": [4.5, 5.0, 5.3, 7.4],
                                        "kind": ["Front-Load Washer", "Electric Dryer", "Gas Dryer", "Top-Load Washer"]},
     ["washer", "dryer", "washer dryer set"], True, 9_900),
    ("Home > Rugs", 0.05, 0.9, (99, 1999), ["Loomcraft", "Harbor & Pine"],
     "{size} {style} Rug", {"size": ["5x8", "8x10", "9x12"], "style": ["Wool", "Jute", "Vintage-wash"]},
     ["area rug 8x10"], False, 0),
    ("Home > Lighting", 0.05, 1.0, (49, 599), ["Lumen & Co", "Harbor & Pine"],
     "{kind}", {"kind": ["Floor Lamp", "Table Lamp", "Pendant", "Chandelier"], "finish": ["Brass", "Black", "Nickel"]},
     ["floor lamp", "pendant light"], False, 0),
    ("Appliances > Parts & Filters", 0.10, 2.0, (19, 149), ["Frostline", "KitchenCraft", "Vantage"],
     "{kind}", {"kind": ["Water Filter", "Dryer Vent Kit", "Dishwasher Rack", "Range Grate"]},
     ["fridge water filter"], False, 0),
]
ACCESSORY_CATEGORIES = frozenset({"Appliances > Parts & Filters", "Home > Lighting"})
PROJECT_CATEGORIES = ("Appliances > Refrigerators", "Appliances > Ranges", "Appliances > Dishwashers",
                      "Appliances > Wall Ovens", "Appliances > Range Hoods")

# city, latitude, longitude (None: the WMS has no coordinates), state, ZIP of the location
WAREHOUSES = [("Edison", 40.5187, -74.4121, "NJ", "08817"), ("Ontario", 34.0633, -117.6509, "CA", "91761"),
              ("Lancaster", 32.5921, -96.7561, "TX", "75134"), ("Joliet", None, None, "IL", "60436")]
STORES = [("New York", 40.7411, -73.9897, "NY", "10011"), ("Los Angeles", 34.0736, -118.3614, "CA", "90036"),
          ("Chicago", None, None, "IL", "60654"), ("Houston", 29.7407, -95.4636, "TX", "77056"),
          ("San Francisco", 37.7725, -122.4091, "CA", "94103"), ("Seattle", None, None, "WA", "98109"),
          ("Dallas", 32.8353, -96.8063, "TX", "75225"), ("Atlanta", 33.8387, -84.3793, "GA", "30305"),
          ("Miami", 25.8130, -80.1918, "FL", "33137"), ("Denver", 39.7170, -104.9530, "CO", "80206"),
          ("Boston", 42.3480, -71.0820, "MA", "02116"), ("Phoenix", 33.5097, -112.0290, "AZ", "85016"),
          ("Philadelphia", 39.9500, -75.1700, "PA", "19103"), ("San Diego", 32.7680, -117.1490, "CA", "92108"),
          ("Austin", 30.3950, -97.7270, "TX", "78759"), ("Portland", 45.5230, -122.6780, "OR", "97209"),
          ("Minneapolis", 44.9200, -93.3270, "MN", "55416")]

# The OMS's own return reasons, the code each maps to, and how often it is used.
RETURN_REASON_TEXTS = (
    ("defective", "DEFECTIVE - DOES NOT POWER ON", 8),
    ("defective", "DAMAGED IN TRANSIT", 10),
    ("not_as_described", "COLOR/FINISH NOT AS PICTURED", 7),
    ("not_as_described", "DIMENSIONS DIFFERENT FROM LISTING", 4),
    ("changed_mind", "NO LONGER NEEDED", 9),
    ("changed_mind", "CUSTOMER REMORSE", 5),
    ("wrong_item", "WRONG ITEM SHIPPED", 4),
    ("arrived_late", "DELIVERY WINDOW MISSED", 5),
    ("better_price_elsewhere", "FOUND LOWER PRICE", 3),
    ("other", "DOES NOT FIT THROUGH DOORWAY", 8),
    ("other", "Customer moved, cancelling kitchen remodel", 2),
    ("other", "Comfort - too firm after 30 nights", 4),
    ("other", "Installer could not connect gas line", 2),
    ("other", "MISC", 3),
)

US_MULTICHANNEL = WorldProfile(
    name="us_multichannel", shop_url=SHOP_URL, currency="USD", countries=("US",), country_p=(1.0,),
    first_names=FIRST_NAMES, last_names=LAST_NAMES, cities=CITIES, streets=STREETS, email_domains=EMAIL_DOMAINS,
    phone_prefixes={}, junk_emails=JUNK_EMAILS, categories=CATEGORIES, accessory_categories=ACCESSORY_CATEGORIES,
    warehouses=WAREHOUSES, stores=STORES, warehouse_name="Hearth & Harbor DC {city}",
    store_name="Hearth & Harbor {city} Showroom", phone_style="nanp", street_number_first=("US",),
    account_p=0.45, orders_per_person_year=3.0, utc_hour_shift=6,
    has_web=False, has_reviews=False, content_variant_lifts=(),
    # store 40 %, phone 15 %, web 30 %, marketplace 15 %
    channel_codes=(2, 3, 0, 5), channel_bounds=(0.40, 0.55, 0.85),
    order_id_prefix="SO", order_id_width=8, order_id_start=20_000_001,
    anonymous_store_p=0.5, phone_order_email_p=0.35, marketplace_phone_p=0.3,
    project_order_p=0.02, project_categories=PROJECT_CATEGORIES, project_lines=(5, 8),
    prices_include_tax=False, flat_shipping=1_999, free_shipping_from=49_900,
    records_delivered_at=True, delivery_days=(3, 10),
    return_reason_texts=RETURN_REASON_TEXTS, old_order_returns_share=0.25, returned_by_other_p=0.1,
    snapshot_weekday=6,
)
