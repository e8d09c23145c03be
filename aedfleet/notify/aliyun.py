"""Alibaba Cloud SMS `SendSms` (API version 2017-05-25), signed as the RPC signature v1.0
documents: the sorted, percent-encoded query, HMAC-SHA1 with the AccessKey secret + "&".
`OutId` carries our idempotency key, so a send can be traced and matched on the provider side.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import uuid
from typing import Final
from urllib.parse import quote

import aiohttp

from aedfleet.notify.http import request
from aedfleet.notify.messages import Notification, PermanentError, RetryableError

API_VERSION: Final = "2017-05-25"
# answers that mean "not now" rather than "never"
THROTTLED: Final = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "isp.SYSTEM_ERROR"})


def percent_encode(text: str) -> str:
    return quote(text, safe="~")


def signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    canonical = "&".join(
        f"{percent_encode(key)}={percent_encode(params[key])}" for key in sorted(params)
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunNotifier:
    name = "aliyun"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        endpoint: str = "https://dysmsapi.aliyuncs.com",
        region: str = "cn-hangzhou",
        timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._template = template_code
        self._endpoint = endpoint.rstrip("/") + "/"
        self._region = region
        self._timeout_s = timeout_s

    def signed_params(self, notification: Notification, now: datetime.datetime) -> dict[str, str]:
        params = {
            "AccessKeyId": self._key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": notification.key[:64],
            "PhoneNumbers": notification.recipient.removeprefix("+86"),
            "RegionId": self._region,
            "SignName": self._sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "TemplateCode": self._template,
            # the approved template has one variable, ${text}
            "TemplateParam": json.dumps({"text": notification.text}, ensure_ascii=False),
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = signature(params, self._secret)
        return params

    async def send(self, notification: Notification) -> str:
        params = self.signed_params(notification, datetime.datetime.now(datetime.UTC))
        body = await request(
            self._session, "GET", self._endpoint, params=params, timeout_s=self._timeout_s
        )
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise PermanentError(f"Aliyun answered with no JSON: {body[:200]}") from error
        code = answer.get("Code")
        if code == "OK":
            return str(answer.get("BizId", ""))
        if code in THROTTLED:
            raise RetryableError(f"Aliyun: {code}: {answer.get('Message')}")
        raise PermanentError(f"Aliyun: {code}: {answer.get('Message')}")
