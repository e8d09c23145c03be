"""The `notification` points the dispatcher writes (docs/storage.md): a phone number is stored
masked, in the idempotency key too, and two sends of one transition in the same millisecond
(the duty officer's and the guardian's) stay two points in InfluxDB."""

from __future__ import annotations

import httpx
import pytest

from aedfleet.influx_query import query
from aedfleet.notify.dispatcher import notification_line
from aedfleet.notify.messages import Notification
from aedfleet.services import LocalServices

pytestmark = pytest.mark.services
DUTY, GUARDIAN = "+8613700000001", "+8613886865468"


def sms(recipient: str) -> Notification:
    return Notification(f"bz-bc-001:opened:1796000000000:firing:{recipient}", recipient,
                        "door opened", "bz-bc-001", "opened", "firing", "critical")  # fmt: skip


def test_two_recipients_in_one_millisecond_are_two_points_and_no_number_is_whole(
    services: LocalServices,
) -> None:
    url, database = services.influxdb.url, "notification_points"
    httpx.post(f"{url}/query", params={"q": f"CREATE DATABASE {database}"}).raise_for_status()
    lines = [
        notification_line(sms(to), "sms", "sent", 1, "", 1796000000123) for to in (DUTY, GUARDIAN)
    ]
    assert not any(DUTY in line or GUARDIAN in line for line in lines)
    httpx.post(f"{url}/write", params={"db": database, "precision": "ms"},
               content="\n".join(lines)).raise_for_status()  # fmt: skip
    rows = query(url, database, 'SELECT "recipient", "key" FROM "notification"')
    assert sorted(row["recipient"] for row in rows) == ["+86137****0001", "+86138****5468"]
    assert {row["key"] for row in rows} == {
        "bz-bc-001:opened:1796000000000:firing:+86137****0001",
        "bz-bc-001:opened:1796000000000:firing:+86138****5468",
    }
