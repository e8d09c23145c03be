"""Local stand-ins for the SMS providers that check every request as the provider's documented
API does, and answer as scripted. Written from the providers' documentation independently of
aedfleet/notify, so a mistake there shows up here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from aiohttp import web

from aedfleet.services import free_port

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"
ALIYUN_KEY_ID = "LTAI-test-key"
ALIYUN_SECRET = "aliyun-test-secret"


def twilio_collector_sections(
    fake_url: str, duty_officers: list[str], **notify: Any
) -> dict[str, dict[str, Any]]:
    """The collector's [notify] and [twilio] sections for this stand-in."""
    return {
        "notify": {"sms_provider": "twilio", "duty_officers": duty_officers, "quiet_hours": "",
                   **notify},
        "twilio": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN,
                   "sender": "+15005550006", "base_url": fake_url},
    }  # fmt: skip


class Script:
    """What the provider answers, one entry per request; the last one repeats."""

    def __init__(self, *answers: int | float) -> None:
        self._answers = list(answers) or [200]

    def next(self) -> int | float:
        return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


class FakeProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[dict[str, Any]] = []  # every request that passed the checks
        self.rejected: list[str] = []  # why a request broke the documented API
        self.script = Script(200)
        self._lock = threading.Lock()

    def delivered(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["answer"] == 200]

    def _record(self, fields: dict[str, Any], answer: int | float) -> None:
        with self._lock:
            self.requests.append({**fields, "answer": answer, "at": time.monotonic()})

    def _reject(self, why: str) -> web.Response:
        with self._lock:
            self.rejected.append(why)
        return web.json_response({"error": why}, status=400)

    async def _answer(self, fields: dict[str, Any], ok: dict[str, Any]) -> web.Response:
        answer = self.script.next()
        self._record(fields, answer)
        if isinstance(answer, float):  # seconds to hang: the client times out
            await asyncio.sleep(answer)
            return web.json_response(ok)
        if answer != 200:
            return web.json_response({"code": answer, "message": "scripted failure"}, status=answer)
        return web.json_response(ok, status=201 if "sid" in ok else 200)

    def app(self) -> web.Application:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[Self]:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app())
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.run_until_complete(runner.cleanup())
            loop.close()


class FakeTwilio(FakeProvider):
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, Basic auth SID:token, form
    fields To, From or MessagingServiceSid, Body."""

    def app(self) -> web.Application:
        async def messages(request: web.Request) -> web.Response:
            if request.match_info["sid"] != TWILIO_SID:
                return self._reject("account SID in the path is not ours")
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if request.headers.get("Authorization") != f"Basic {expected}":
                return self._reject("Basic auth must be AccountSid:AuthToken")
            if request.content_type != "application/x-www-form-urlencoded":
                return self._reject("body must be form-encoded")
            form = dict(await request.post())
            if not {"To", "Body"} <= set(form) or not ({"From", "MessagingServiceSid"} & set(form)):
                return self._reject(f"missing To, Body or From: {sorted(form)}")
            if not str(form["To"]).startswith("+"):
                return self._reject("To must be E.164")
            return await self._answer(
                {"to": form["To"], "body": form["Body"]}, {"sid": f"SM{len(self.requests):032d}"}
            )

        async def account(request: web.Request) -> web.Response:
            """GET /2010-04-01/Accounts/{AccountSid}.json: fetch the account, sends nothing;
            401 (error 20003) for a wrong SID or token."""
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if (request.match_info["sid"] != TWILIO_SID
                    or request.headers.get("Authorization") != f"Basic {expected}"):  # fmt: skip
                return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
            return web.json_response({"sid": TWILIO_SID, "status": "active"})

        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", messages)
        app.router.add_get("/2010-04-01/Accounts/{sid}.json", account)
        return app


def aliyun_signature(query: dict[str, str], secret: str) -> str:
    """RPC signature v1.0, from the documentation: sorted parameters, RFC 3986 encoding with
    %20 for space, StringToSign = GET&%2F&encoded(query), HMAC-SHA1 keyed secret + '&'."""

    def encode(text: str) -> str:
        return (
            urllib.parse.quote_plus(text, encoding="utf-8")
            .replace("+", "%20")
            .replace("*", "%2A")
            .replace("%7E", "~")
        )

    canonical = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(query.items()))
    string_to_sign = "GET&" + encode("/") + "&" + encode(canonical)
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


class FakeAliyun(FakeProvider):
    """GET /?Action=SendSms&... with the common parameters and a valid signature."""

    REQUIRED = (
        "AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName",
        "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode", "Timestamp",
        "Version", "Signature",
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.nonces: set[str] = set()

    def app(self) -> web.Application:
        async def send_sms(request: web.Request) -> web.Response:
            query = dict(request.query)
            if query.get("Action") == "QuerySmsSign":
                return self._query_sign(query)
            missing = [name for name in self.REQUIRED if name not in query]
            if missing:
                return self._reject(f"missing parameters {missing}")
            if query["Action"] != "SendSms" or query["Version"] != "2017-05-25":
                return self._reject("Action must be SendSms, Version 2017-05-25")
            if query["AccessKeyId"] != ALIYUN_KEY_ID:
                return self._reject("unknown AccessKeyId")
            signature = query.pop("Signature")
            if signature != aliyun_signature(query, ALIYUN_SECRET):
                return self._reject("SignatureDoesNotMatch")
            if query["SignatureNonce"] in self.nonces:
                return self._reject("SignatureNonceUsed")
            self.nonces.add(query["SignatureNonce"])
            stamp = time.mktime(time.strptime(query["Timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
            if abs(stamp - time.mktime(time.gmtime())) > 900:
                return self._reject("Timestamp more than 15 minutes off")
            fields = {"to": query["PhoneNumbers"], "out_id": query.get("OutId", ""),
                      "param": query.get("TemplateParam", "")}  # fmt: skip
            answer = self.script.next()
            self._record(fields, answer)
            if isinstance(answer, float):
                await asyncio.sleep(answer)
            if answer == 200:
                return web.json_response({"Code": "OK", "Message": "OK", "BizId": "b1"})
            if answer == 429:
                return web.json_response(
                    {
                        "Code": "Throttling.User",
                        "Message": "Request was denied due to user flow control.",
                    }
                )
            return web.json_response(
                {"Code": "isp.SYSTEM_ERROR", "Message": "x"}, status=int(answer)
            )

        app = web.Application()
        app.router.add_get("/", send_sms)
        return app

    QUERY_SIGN_REQUIRED = (
        "AccessKeyId", "Action", "Format", "RegionId", "SignName", "SignatureMethod",
        "SignatureNonce", "SignatureVersion", "Timestamp", "Version", "Signature",
    )  # fmt: skip

    def _query_sign(self, query: dict[str, str]) -> web.Response:
        """QuerySmsSign (2017-05-25): a signature's review status, SignStatus 1 = approved;
        sends nothing. A wrong key answers InvalidAccessKeyId.NotFound or
        SignatureDoesNotMatch, as the API's error codes say."""
        missing = [name for name in self.QUERY_SIGN_REQUIRED if name not in query]
        if missing or query["Version"] != "2017-05-25":
            return self._reject(f"missing parameters {missing} or Version")
        if query["AccessKeyId"] != ALIYUN_KEY_ID:
            return web.json_response({"Code": "InvalidAccessKeyId.NotFound",
                                      "Message": "Specified access key is not found."})  # fmt: skip
        signature = query.pop("Signature")
        if signature != aliyun_signature(query, ALIYUN_SECRET):
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "x"})
        return web.json_response({"Code": "OK", "SignName": query["SignName"], "SignStatus": 1})
