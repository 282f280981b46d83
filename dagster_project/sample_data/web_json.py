"""Renders the nested context/properties/traits JSON of web events (WebEventJson), chunk by chunk
as the landing writer writes them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.sample_data.devices import APP_VERSIONS, DEVICE_TYPES, Devices
from dagster_project.sample_data.newsletter import SUBSCRIBER_PARAM


class WebEventJson:
    """Renders the nested context/properties/traits objects of web events.

    Everything that repeats (a page, a device, a product, a cart, an e-mail) is rendered to a
    JSON fragment once per dictionary entry; a row is then only the Arrow concatenation of its
    fragments, which is much cheaper than building ~12M objects in SQL."""

    def __init__(self, *, shop_url: str, currency: str, pages: list[str], titles: list[str],
                 external_referrers: list[str | None], campaigns: list[tuple[str, str, str, str | None]],
                 subscriber_tokens: list[str], devices: Devices, product_ids: pa.Array, cart_ids: pa.Array,
                 search_terms: list[str], order_ids: pa.Array, email_variants: pa.Array, phone_variants: pa.Array):
        j = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
        self.currency = f',"currency":{j(currency)}'
        self.page_head = pa.array([f'{{"page":{{"path":{j(p)},"url":"{shop_url}{j(p)[1:-1]}' for p in pages])
        self.page_title = pa.array([f'","title":{j(t)}' for t in titles])
        self.ref = pa.array([f',"referrer":{j(shop_url + p)}' for p in pages]
                            + [f',"referrer":{j(r)}' if r else "" for r in external_referrers])
        self.utm_qs = pa.array([f"?utm_source={a}&utm_medium={b}&utm_campaign={c}" for a, b, c, _ in campaigns])
        self.campaign = pa.array([',"campaign":' + j({"source": a, "medium": b, "name": c})
                                  for a, b, c, _ in campaigns])
        # the landing URL's subscriber parameter (after the UTM parameters of a newsletter link)
        self.sub = pa.array([f"&{SUBSCRIBER_PARAM}={j(t)[1:-1]}" for t in subscriber_tokens], pa.string())
        self.device = self._devices(devices, j)
        # object members carry a leading comma; _object drops the first one
        self.product = pa.array([f',"product_id":"{p}"' for p in product_ids.to_pylist()])
        self.cart = pa.array([f',"cart_id":"{c}"' for c in cart_ids.to_pylist()])
        self.query = pa.array([f',"query":{j(q)}' for q in search_terms])
        self.order = pa.array([f',"order_id":"{o}"' for o in order_ids.to_pylist()])
        self.email = pa.array([f',"email":{j(e)}' for e in email_variants.to_pylist()])
        self.phone = pa.array([f',"phone":{j(p)}' for p in phone_variants.to_pylist()])

    @staticmethod
    def _devices(devices: Devices, j) -> pa.Array:
        agents = devices.user_agents.to_pylist()
        ips = devices.ips.to_pylist()
        shown_type = np.where(devices.is_app, 1, devices.device_type)
        return pa.array([
            f'"device":{{"type":"{DEVICE_TYPES[shown_type[d]]}"}},"user_agent":{j(agents[devices.user_agent[d]])},'
            f'"ip":"{ips[d]}"'
            + (f',"app":{{"version":"{APP_VERSIONS[devices.app_version[d]]}"}}' if devices.is_app[d] else "")
            for d in range(len(devices.person))])

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
            pc.if_else(pa.array(col["_revenue"] >= 0), self.currency, pa.nulls(n, pa.string())),
        ], n)
        traits = self._object([self._take(self.email, col["_email"]), self._take(self.phone, col["_phone"])], n)
        return {"context": context, "properties": properties, "traits": traits}

    columns = ("context", "properties", "traits")

