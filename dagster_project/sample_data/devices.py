"""The browsers, app installs and in-store kiosks the web analytics sees (Devices): whose each one
is, its anonymous id, user agent, IP address and whether it reports local time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.sample_data.columns import segments, uuid_like
from dagster_project.sample_data.people import People
from dagster_project.sample_data.scales import Sizes

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
APP_VERSIONS = ["4.12.1", "4.12.0", "4.11.3"]  # the app user agents name them in this order
IP_FIRST_OCTETS = np.array([77, 79, 84, 87, 91, 93, 109, 178, 188, 217])


@dataclass(frozen=True)
class Devices:
    person: np.ndarray  # device -> person; -1 for a kiosk
    device_type: np.ndarray  # index into DEVICE_TYPES
    is_app: np.ndarray
    first_of_person: np.ndarray  # person -> their first device (browsers first, then the app)
    browsers_of_person: np.ndarray  # person -> how many browsers they use
    app_of_person: np.ndarray  # person -> their app install; -1 without one
    first_kiosk: int  # kiosks (shared in-store browsers) follow the people's devices
    ids: pa.Array  # anonymous ids
    reports_local_time: np.ndarray  # +01:00/+02:00 timestamps instead of UTC
    user_agent: np.ndarray  # index into user_agents
    user_agents: pa.Array
    ips: pa.Array
    app_version: np.ndarray  # index into APP_VERSIONS; -1 for a browser


def build_devices(rng: np.random.Generator, sizes: Sizes, people: People) -> Devices:
    n = people.count
    browsers = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    has_app = (people.account_of >= 0) & (rng.random(n) < 0.35)
    counts = browsers + has_app
    person, position = segments(counts)
    first_of_person = np.cumsum(counts) - counts
    is_app = position >= browsers[person]
    first_type = rng.choice([0, 1], size=len(person), p=[0.55, 0.45])
    other_type = rng.choice([0, 1, 2], size=len(person), p=[0.25, 0.5, 0.25])
    device_type = np.where(is_app, 1, np.where(position == 0, first_type, other_type))
    kiosks = sizes.kiosks
    device_person = np.concatenate([person, np.full(kiosks, -1)])
    device_type = np.concatenate([device_type, np.full(kiosks, 2)])
    is_app = np.concatenate([is_app, np.zeros(kiosks, bool)])
    n_devices = len(device_person)
    ids = uuid_like(rng, n_devices)
    # The app and some browsers report device-local time (+01:00/+02:00) instead of UTC.
    reports_local_time = is_app | (rng.random(n_devices) < 0.12)
    user_agent, user_agents = _user_agents(rng, device_type, is_app)
    octets = rng.integers(1, 255, size=(n_devices, 4))
    first_octet = IP_FIRST_OCTETS[rng.integers(0, 10, n_devices)]
    ips = pa.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in
                    zip(first_octet, octets[:, 1], octets[:, 2], octets[:, 3])], pa.string())
    first_app_agent = len(user_agents) - len(USER_AGENTS["app"])
    return Devices(
        person=device_person, device_type=device_type, is_app=is_app, first_of_person=first_of_person,
        browsers_of_person=browsers, app_of_person=np.where(has_app, first_of_person + browsers, -1),
        first_kiosk=len(person), ids=ids, reports_local_time=reports_local_time, user_agent=user_agent,
        user_agents=pa.array(user_agents, pa.string()), ips=ips,
        app_version=np.where(is_app, user_agent - first_app_agent, -1),
    )


def _user_agents(rng: np.random.Generator, device_type: np.ndarray, is_app: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each device's user agent (an index into the returned list) by its kind."""
    draw = rng.random(len(device_type))
    agents, index = [], np.empty(len(device_type), dtype=np.int64)
    for k, kind in enumerate(["desktop", "mobile", "tablet", "app"]):
        chosen = (device_type == k) & ~is_app if kind != "app" else is_app
        index[chosen] = len(agents) + (draw[chosen] * len(USER_AGENTS[kind])).astype(np.int64)
        agents += USER_AGENTS[kind]
    return index, agents
