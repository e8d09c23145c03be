"""Twilio Programmable Messaging: POST /2010-04-01/Accounts/{sid}/Messages.json, form fields
To, From (or MessagingServiceSid) and Body, HTTP Basic auth with the account SID and token."""

from __future__ import annotations

import json

import aiohttp

from aedfleet.collector.basicauth import basic_auth
from aedfleet.notify.http import request
from aedfleet.notify.messages import Notification, PermanentError


class TwilioNotifier:
    name = "twilio"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = "https://api.twilio.com",
        timeout_s: float = 10.0,
    ) -> None:
        self._session = session
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = basic_auth(account_sid, auth_token)
        # a Messaging Service SID starts with MG; otherwise it is the sending number
        self._sender_field = "MessagingServiceSid" if sender.startswith("MG") else "From"
        self._sender = sender
        self._timeout_s = timeout_s

    async def send(self, notification: Notification) -> str:
        form = {
            "To": notification.recipient,
            self._sender_field: self._sender,
            "Body": notification.text,
        }
        body = await request(
            self._session, "POST", self._url, data=form, headers=self._auth,
            timeout_s=self._timeout_s,
        )  # fmt: skip
        try:
            return str(json.loads(body)["sid"])
        except (ValueError, KeyError) as error:
            raise PermanentError(f"Twilio answered without a message sid: {body[:200]}") from error
