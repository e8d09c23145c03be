"""The first users' fleet, for the demo: about 80 public AED cabinets across Binzhou's
districts and counties, at the places a programme puts them, with plausible coordinates."""

from __future__ import annotations

import datetime
import random
from typing import Final

from aedfleet.collector.inventory import Cabinet

# district: (code, centre latitude, centre longitude, cabinets)
DISTRICTS: Final = {
    "Bincheng": ("bc", 37.38, 117.97, 20),
    "Zhanhua": ("zh", 37.70, 118.13, 9),
    "Huimin": ("hm", 37.49, 117.51, 10),
    "Yangxin": ("yx", 37.65, 117.58, 9),
    "Wudi": ("wd", 37.77, 117.61, 9),
    "Boxing": ("bx", 37.15, 118.13, 11),
    "Zouping": ("zp", 36.86, 117.74, 12),
}
SITES: Final = (
    ("People's Hospital", "emergency entrance"),
    ("Railway Station", "waiting hall"),
    ("Bus Terminal", "ticket hall"),
    ("No. 1 Middle School", "sports ground"),
    ("Wanda Plaza", "ground floor atrium"),
    ("Central Park", "east gate"),
    ("Government Service Hall", "main lobby"),
    ("Sports Centre", "gym entrance"),
    ("Traditional Chinese Medicine Hospital", "outpatient hall"),
    ("Experimental Primary School", "gatehouse"),
    ("Yintai Shopping Mall", "customer service desk"),
    ("Yellow River Park", "visitor centre"),
)
MODELS: Final = (
    "Mindray BeneHeart C2",
    "Philips HeartStart HS1",
    "ZOLL AED Plus",
    "Cardiac Science G5",
)


OUTDOOR_SPOTS: Final = ("sports ground", "east gate", "gatehouse", "visitor centre")
DEMO_SIZE: Final = sum(count for *_, count in DISTRICTS.values())


def district_counts(total: int) -> dict[str, int]:
    """`total` cabinets shared among the districts as the demo fleet shares its 80."""
    shares = {name: total * count / DEMO_SIZE for name, (*_, count) in DISTRICTS.items()}
    counts = {name: int(share) for name, share in shares.items()}
    by_remainder = sorted(shares, key=lambda name: counts[name] - shares[name])
    for name in by_remainder[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def is_outdoor(cabinet: Cabinet) -> bool:
    return cabinet.address.split(",")[0] in OUTDOOR_SPOTS


def demo_inventory(seed: int = 2026) -> list[Cabinet]:
    return fleet_inventory(DEMO_SIZE, seed)


def fleet_inventory(total: int, seed: int = 2026) -> list[Cabinet]:
    """`total` cabinets across Binzhou's districts and counties; the same seed, the same fleet."""
    rng = random.Random(seed)
    cabinets = []
    counts = district_counts(total)
    for district, (code, lat, lon, _demo_count) in DISTRICTS.items():
        for number in range(1, counts[district] + 1):
            place, spot = SITES[(number - 1) % len(SITES)]
            site = f"{district} {place}" if number <= len(SITES) else f"{district} {place} {number}"
            installed = datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(700))
            cabinets.append(
                Cabinet(
                    id=f"bz-{code}-{number:03d}",
                    name=f"{site} AED",
                    site=site,
                    district=district,
                    address=f"{spot}, {site}",
                    lat=round(lat + rng.uniform(-0.08, 0.08), 5),
                    lon=round(lon + rng.uniform(-0.08, 0.08), 5),
                    access_hours="24/7" if number % 3 else "06:00-22:00",
                    guardian_name=f"{site} duty desk",
                    guardian_phone=f"+86138{rng.randrange(10**8):08d}",
                    technician_phone=f"+86139{rng.randrange(10**8):08d}",
                    aed_model=MODELS[number % len(MODELS)],
                    install_date=installed,
                )
            )
    return cabinets
