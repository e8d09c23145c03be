# Rebuilds MQTT messages with the firmware's own report.py from the fields they carry, under
# the MicroPython unix port: one JSON line {"topic": ..., "body": {...}} in, one line
# "topic hex(payload)" out. The simulator's wire bytes must equal these.

import binascii
import json
import sys

import report


def rebuild(topic, body):
    prefix, _version, ident, kind = topic.split("/")
    head = (body["seq"], body["ts"], body["sync"])
    if kind == "event":
        extra = {name: body[name] for name in report.EVENT_FIELDS[body["ev"]]}
        return report.event(prefix, ident, body["ev"], extra, *head)
    if kind == "telemetry":
        return report.telemetry(prefix, ident, body, *head)
    extra = {name: body[name] for name in report.STATUS_FIELDS[body["state"]]}
    return report.status(prefix, ident, body["state"], extra, *head)


with open(sys.argv[1]) as lines:
    for line in lines:
        message = json.loads(line)
        topic, payload = rebuild(message["topic"], message["body"])
        print(topic, binascii.hexlify(payload).decode())
