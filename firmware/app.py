# The cabinet application: inputs -> cabinet state machine -> outbox -> MQTT, on one asyncio
# loop. The board object is the only thing that touches hardware (board_esp32 or board_sim).

import asyncio
import json
import random

import cabinet
import config as configuration
import report
from link import Link
from outbox import EVENT, TELEMETRY, Outbox, SequenceCounter

INPUTS = ("door", "aed", "maint", "mains", "tamper")


class App:
    def __init__(self, config, board, log=print):
        self.config = config
        self.board = board
        self.log = log
        data = config["data_dir"].rstrip("/") + "/"
        self.seq = SequenceCounter(data + "seq")
        self.outbox = Outbox(data + "outbox", config["outbox_capacity"])
        self._applied_path = data + "applied.json"
        self._state_path = data + "state.json"
        self._load_applied()
        now_ticks = board.ticks_ms()
        levels = self._levels_before_sleep(board.read_inputs())
        hold = config["debounce_ms"]
        self.debounce = {name: cabinet.Debouncer(levels[name], hold) for name in INPUTS}
        self.cabinet = cabinet.Cabinet(
            levels["door"], levels["aed"], levels["mains"], board.epoch_ms()
        )
        self.heater = cabinet.Heater(config["heat_on_dc"], config["heat_off_dc"])
        self.schedule = cabinet.Schedule(config["telemetry_s"] * 1000, now_ticks)
        self.boot_ticks = now_ticks
        self.reconnects = 0
        self.last_temp_dc = None
        self.temp_fault = False
        self.last_ts = 0
        self.last_link_ok_ticks = now_ticks
        self.stable = False
        self.wake = asyncio.Event()
        prefix, ident = config["prefix"], config["id"]
        host, port = configuration.parse_broker(config["broker"])
        self.link = Link(
            host,
            port,
            ident,
            config["keepalive_s"],
            config["connect_timeout_ms"],
            board.ticks_ms,
            log,
            config["username"],
            config["password"],
            self._on_config,
            self.wake.set,  # a lost connection wakes the sender, which then reconnects
        )
        self.config_topic = report.topic(prefix, ident, "config")
        if board.reset_cause() != "deep_sleep":  # a wake-up is not a boot worth reporting
            self.event("boot", {"reset": board.reset_cause(), "fw": configuration.FIRMWARE_VERSION})

    # --- persistence of what the server configured ---------------------------------------

    def _load_applied(self):
        try:
            with open(self._applied_path) as handle:
                self.config.update(json.load(handle))
        except (OSError, ValueError):
            pass

    def _levels_before_sleep(self, levels):
        # after deep sleep, start from what the cabinet was before it, so the opening that
        # woke it becomes an event
        try:
            with open(self._state_path) as handle:
                saved = json.load(handle)
        except (OSError, ValueError):
            return levels
        merged = dict(levels)
        merged.update(saved)
        return merged

    def _on_config(self, topic, payload):
        if topic != self.config_topic:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            self.log("config: not JSON, ignored")
            return
        revision = configuration.apply_server_config(self.config, message)
        if revision is None:
            return
        self.heater = cabinet.Heater(self.config["heat_on_dc"], self.config["heat_off_dc"])
        self.schedule = cabinet.Schedule(self.config["telemetry_s"] * 1000, self.board.ticks_ms())
        keys = ("config_rev", "telemetry_s", "pad_exp", "batt_exp", "heat_on_dc", "heat_off_dc")
        with open(self._applied_path, "w") as handle:
            json.dump({key: self.config[key] for key in keys}, handle)
        self.log("config: applied revision %d" % revision)
        self.event("config_applied", {"rev": revision})

    # --- building messages ---------------------------------------------------------------

    def _stamp(self):
        # strictly increasing per device, so two messages never share a storage identity
        ts = max(self.board.epoch_ms(), self.last_ts + 1)
        self.last_ts = ts
        return self.seq.take(), ts, self.board.clock_synced()

    def event(self, name, extra):
        seq, ts, synced = self._stamp()
        topic, payload = report.event(
            self.config["prefix"], self.config["id"], name, extra, seq, ts, synced
        )
        self.outbox.put(seq, EVENT, topic, payload)
        self.log("event: " + name)
        self.wake.set()

    def readings(self, now_ticks):
        temp_dc = self.board.temp_dc()
        if temp_dc is None:
            if not self.temp_fault:
                self.temp_fault = True
                self.event("fault", {"code": "temp_sensor"})
        else:
            self.temp_fault = False
            self.last_temp_dc = temp_dc
        heater_on = self.heater.update(temp_dc)
        self.board.set_heater(heater_on)
        state = self.cabinet
        return {
            "door": state.door_open,
            "aed": state.aed_present,
            "maint": state.maintenance,
            "mains": state.mains,
            "batt_mv": cabinet.battery_mv(
                self.board.battery_uv(),
                self.config["batt_divider_milli"],
                self.config["batt_offset_mv"],
            ),
            "temp_dc": self.last_temp_dc if self.last_temp_dc is not None else 0,
            "heater": heater_on,
            "rssi": self.board.rssi(),
            "reconn": self.reconnects,
            "up_s": cabinet.ticks_diff(now_ticks, self.boot_ticks) // 1000,
            "mem": self.board.free_mem(),
            "drop": self.outbox.dropped,
            "fw": configuration.FIRMWARE_VERSION,
            "hum_pct": self.board.humidity_pct(),
            "pad_exp": self.config["pad_exp"],
            "batt_exp": self.config["batt_exp"],
        }

    def telemetry(self, now_ticks):
        values = self.readings(now_ticks)
        seq, ts, synced = self._stamp()
        topic, payload = report.telemetry(
            self.config["prefix"], self.config["id"], values, seq, ts, synced
        )
        self.outbox.put(seq, TELEMETRY, topic, payload)
        self.wake.set()

    def status(self, state, extra):
        seq, ts, synced = self._stamp()
        return report.status(
            self.config["prefix"], self.config["id"], state, extra, seq, ts, synced
        )

    # --- the loops -----------------------------------------------------------------------

    def poll_inputs(self, now_ticks):
        levels = self.board.read_inputs()
        now_ms = self.board.epoch_ms()
        state = self.cabinet
        for name in INPUTS:
            changed = self.debounce[name].update(levels[name], now_ticks)
            if changed is None:
                continue
            if name == "door":
                events = state.door(changed, now_ms)
            elif name == "aed":
                events = state.aed(changed, now_ms)
            elif name == "maint":
                events = state.maintenance_key(changed, now_ms)
            elif name == "mains":
                events = state.mains_power(changed)
            else:
                events = [("tamper", {})] if changed else []
            for event_name, extra in events:
                self.event(event_name, extra)

    async def input_loop(self):
        config = self.config
        wdt_link_ms = config["wdt_link_s"] * 1000
        stable_ms = config["stable_after_s"] * 1000
        while True:
            now = self.board.ticks_ms()
            self.poll_inputs(now)
            if self.schedule.due(now):
                self.telemetry(now)
            if self.link.connected:
                self.last_link_ok_ticks = self.link.last_rx_ticks
            self.board.set_led(self.link.connected)
            # an alarmed cabinet: it sounds while opened outside maintenance (deters theft and
            # tells the bystander the opening was noticed)
            state = self.cabinet
            alarm = config["alarm_on_open"] and state.door_open and not state.maintenance
            self.board.set_buzzer(alarm)
            # fed only while this loop runs and the broker answered recently: a wedged
            # Wi-Fi stack or socket ends in a reset instead of a silent cabinet
            if cabinet.ticks_diff(now, self.last_link_ok_ticks) < wdt_link_ms:
                self.board.feed_watchdog()
            if not self.stable and cabinet.ticks_diff(now, self.boot_ticks) >= stable_ms:
                self.stable = True
                self.board.mark_stable()
            await self.board.wait_input(config["poll_ms"])

    async def link_loop(self):
        backoff_ms = 1000
        first = True
        while True:
            if not await self.board.network_up():
                await asyncio.sleep(backoff_ms / 1000)
                continue
            will_topic, will_payload = self.status("offline", {})
            if not await self.link.connect(will_topic, will_payload):
                # capped exponential backoff with jitter, so a fleet does not reconnect at once
                delay_ms = backoff_ms // 2 + random.getrandbits(16) % (backoff_ms // 2 + 1)
                await asyncio.sleep(delay_ms / 1000)
                backoff_ms = min(backoff_ms * 2, 60000)
                continue
            backoff_ms = 1000
            if not first:
                self.reconnects += 1
            first = False
            self.log("link: connected")
            self.board.sync_clock()
            topic, payload = self.status("online", {"fw": configuration.FIRMWARE_VERSION})
            if await self.link.publish(topic, payload, qos=1, retain=True):
                await self.link.subscribe(self.config_topic)
                await self.drain()

    async def drain(self):
        """Send the outbox in order while connected; a message leaves it only on PUBACK."""
        while self.link.connected:
            item = self.outbox.peek()
            if item is None:
                self.wake.clear()
                try:  # woken by a new message or a lost connection
                    await asyncio.wait_for(self.wake.wait(), self.config["keepalive_s"])
                except asyncio.TimeoutError:
                    pass
                continue
            seq, topic, payload = item
            if not await self.link.publish(topic, payload, qos=1):
                return
            self.outbox.remove(seq)

    async def run(self):
        inputs = asyncio.create_task(self.input_loop())
        if self.config["power"] == "mains":
            await self.link_loop()
            return
        link = asyncio.create_task(self.link_loop())
        await self.sleep_when_sent(self.board.ticks_ms())
        link.cancel()
        inputs.cancel()

    async def sleep_when_sent(self, woke_ticks):
        """Battery profile: once the outbox is sent (or awake_s passed), say `sleeping` with
        the next wake time, disconnect cleanly and deep sleep until the heartbeat or the door."""
        awake_ms = self.config["awake_s"] * 1000
        while cabinet.ticks_diff(self.board.ticks_ms(), woke_ticks) < awake_ms:
            if self.link.connected and len(self.outbox) == 0:
                break
            await asyncio.sleep(0.1)
        now_ms = self.board.epoch_ms()
        plan = cabinet.wake_plan(self.cabinet.door_open, now_ms, self.config["heartbeat_s"] * 1000)
        if self.link.connected:
            topic, payload = self.status("sleeping", {"wake": plan["wake_ms"]})
            await self.link.publish(topic, payload, qos=1, retain=True)
        await self.link.close(clean=True)
        with open(self._state_path, "w") as handle:
            json.dump({"door": self.cabinet.door_open, "aed": self.cabinet.aed_present}, handle)
        self.board.deep_sleep(plan["wake_ms"] - now_ms, plan["wake_on_door_level"])
