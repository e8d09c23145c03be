"""`aedfleet doctor`'s SMS check: a provider call that sends nothing, to see the keys accepted.

Twilio: GET /2010-04-01/Accounts/{AccountSid}.json (fetch the account; 401 for a bad SID or
token). Aliyun: QuerySmsSign (Dysmsapi 2017-05-25), which also says whether the signature is
approved.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Final

import httpx

from aedfleet.collector.config import CollectorConfig
from aedfleet.deploy.doctor import TIMEOUT_S, Check
from aedfleet.notify.aliyun import signature

NAME: Final = "SMS provider"
SIGN_APPROVED: Final = 1


def check_sms(config: CollectorConfig) -> Check:
    provider = config.notify.sms_provider
    try:
        if provider == "twilio":
            return _twilio(config)
        if provider == "aliyun":
            return _aliyun(config)
    except httpx.HTTPError as error:
        return Check(NAME, False, f"{provider} unreachable: {error!r}")
    return Check(NAME, None, f"sms_provider is {provider}: no provider to ask")


def _twilio(config: CollectorConfig) -> Check:
    t = config.twilio
    if not (t.account_sid and t.auth_token):
        return Check(NAME, False, "AEDFLEET_TWILIO_ACCOUNT_SID and AEDFLEET_TWILIO_AUTH_TOKEN "
                     "are empty: fill them in aedfleet.env")  # fmt: skip
    url = f"{t.base_url.rstrip('/')}/2010-04-01/Accounts/{t.account_sid}.json"
    answer = httpx.get(url, auth=(t.account_sid, t.auth_token), timeout=TIMEOUT_S)
    if answer.status_code in (401, 403, 404):
        return Check(NAME, False, f"Twilio refused account {t.account_sid} "
                     f"({answer.status_code}): check AEDFLEET_TWILIO_ACCOUNT_SID and "
                     "AEDFLEET_TWILIO_AUTH_TOKEN in aedfleet.env")  # fmt: skip
    if answer.status_code != 200:
        return Check(NAME, False, f"Twilio answered {answer.status_code}; try again later")
    status = answer.json().get("status", "")
    if status not in ("", "active"):
        return Check(NAME, False, f"Twilio account {t.account_sid} is {status}")
    return Check(NAME, True, f"Twilio accepts account {t.account_sid} (nothing sent)")


def _aliyun(config: CollectorConfig) -> Check:
    a = config.aliyun
    if not (a.access_key_id and a.access_key_secret):
        return Check(NAME, False, "AEDFLEET_ALIYUN_ACCESS_KEY_ID and _SECRET are empty: fill "
                     "them in aedfleet.env")  # fmt: skip
    params = {
        "AccessKeyId": a.access_key_id, "Action": "QuerySmsSign", "Format": "JSON",
        "RegionId": "cn-hangzhou", "SignName": a.sign_name, "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": str(uuid.uuid4()), "SignatureVersion": "1.0",
        "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
    }  # fmt: skip
    params["Signature"] = signature(params, a.access_key_secret)
    answer = httpx.get(a.endpoint.rstrip("/") + "/", params=params, timeout=TIMEOUT_S)
    try:
        body = json.loads(answer.text)
    except ValueError:
        return Check(NAME, False, f"Aliyun answered {answer.status_code} without JSON")
    if body.get("Code") != "OK":
        return Check(NAME, False, f"Aliyun refused: {body.get('Code')}: {body.get('Message')}; "
                     "check AEDFLEET_ALIYUN_* in aedfleet.env")  # fmt: skip
    if body.get("SignStatus") != SIGN_APPROVED:
        return Check(NAME, False, f"signature {a.sign_name!r} is not approved yet "
                     f"(SignStatus {body.get('SignStatus')})")  # fmt: skip
    return Check(NAME, True, f"Aliyun accepts key {a.access_key_id}, signature approved")
