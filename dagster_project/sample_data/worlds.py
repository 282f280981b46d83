"""The deployment settings of each generated world: what its data means (phone numbering,
tax-inclusive prices, the shop's own web domains). A real deployment sets the same values as
environment variables (see dagster_project/settings.py); the sample worlds carry theirs here so
that nothing about them is built into the pipeline."""

from __future__ import annotations

WORLDS = {
    # A German consumer-electronics web shop with stores (the demo's shop).
    "default": dict(phone_country_code="49", phone_trunk_prefix="0", prices_include_tax=True,
                    shop_domains="voltmarkt.de"),
    # A US furniture and appliances chain: showrooms, call centre, website, marketplaces; sales
    # tax added on top of prices; NANP phone numbers (trunk prefix 1).
    "us_multichannel": dict(phone_country_code="1", phone_trunk_prefix="1", prices_include_tax=False,
                            shop_domains="hearthandharbor.com"),
}


def world_settings(profile: str = "default") -> dict:
    """Settings overrides (Settings field -> value) for a generated world."""
    if profile not in WORLDS:
        raise ValueError(f"unknown sample world {profile!r}; known: {', '.join(sorted(WORLDS))}")
    return dict(WORLDS[profile])
