# The cabinet application: inputs -> cabinet state machine -> outbox -> MQTT, on one asyncio
# loop. The board object is the only thing that touches hardware (board_esp32 or board_sim).

import asyncio
import json
import os
import random

import cabinet
import config as configuration
import report
from link import Brokers, Link, tls_context
from outbox import BOOT, EVENT, SELF_TEST, TELEMETRY, Outbox, SequenceCounter, write_atomic

INPUTS = ("door", "aed", "maint", "mains", "tamper")
TEMP_PERIOD_MS = 2000  # the heater follows every reading; a DS18B20 conversion takes 750 ms


class App:
    def __init__(self, config, board, log=print, safe=False):
        self.config = config
        self.board = board
        self.log = log
        self.safe = safe  # safe mode: only the link and the update path run
        data = config["data_dir"].rstrip("/") + "/"
        self.data = data
        self.seq = SequenceCounter(data + "seq")
        self.outbox = Outbox(data + "outbox", config["outbox_capacity"])
        self._applied_path = data + "applied.json"
        self._state_path = data + "state.json"
        self._load_applied()
        now_ticks = board.ticks_ms()
        levels = board.read_inputs()
        self.cabinet = cabinet.Cabinet(levels["door"], levels["aed"], levels["mains"], now_ticks)
        if board.reset_cause() == "deep_sleep":
            # start from the cabinet before sleep, so the opening that woke it is an event
            # and durations run on across the sleep
            self._restore_before_sleep(now_ticks)
        state = self.cabinet
        before = {"door": state.door_open, "aed": state.aed_present, "maint": state.maintenance}
        hold = config["debounce_ms"]
        self.debounce = {
            name: cabinet.Debouncer(before.get(name, levels[name]), hold) for name in INPUTS
        }
        for name in before:  # a level that differs now is an edge seen at wake-up
            if before[name] != levels[name]:
                self.debounce[name].edge(levels[name], cabinet.ticks_add(now_ticks, -hold))
        self.heater = cabinet.Heater(config["heat_on_dc"], config["heat_off_dc"])
        self.schedule = cabinet.Schedule(config["telemetry_s"] * 1000, now_ticks)
        self.temp_schedule = cabinet.Schedule(TEMP_PERIOD_MS, now_ticks)
        self.self_test_schedule = cabinet.Schedule(config["self_test_s"] * 1000, now_ticks)
        self.self_test_schedule.due(now_ticks)  # the first one a period after boot, not at it
        self.ntp_schedule = cabinet.Schedule(config["ntp_s"] * 1000, now_ticks)
        self.boot_ticks = now_ticks
        self.reconnects = 0
        self.last_temp_dc = None
        self.temp_fault = False
        self.last_ts = 0
        self.last_link_ok_ticks = now_ticks
        self.stable = False
        self.going_to_sleep = False  # battery: the link must not come back once `sleeping` is said
        self.wake = asyncio.Event()
        prefix, ident = config["prefix"], config["id"]
        brokers = [configuration.parse_broker(url) for url in configuration.broker_urls(config)]
        context = None
        if any(tls for _host, _port, tls in brokers):  # one context serves every node
            ca_file = config["ca_file"]
            context = tls_context(ca_file if ca_file.startswith("/") else data + ca_file)
        self.brokers = Brokers(
            [(host, port, context if tls else None) for host, port, tls in brokers],
            board.ticks_ms,
            random.getrandbits,
        )
        host, port, tls = self.brokers.current()
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
            tls,
            config["ack_timeout_ms"],
        )
        self.config_topic = report.topic(prefix, ident, "config")
        self.fw_topics = prefix + "/v1/fw/"
        self.updater = None  # ota.Updater, loaded with the first offer of a release
        if board.reset_cause() != "deep_sleep":  # a wake-up is not a boot worth reporting
            self.event("boot", {"reset": board.reset_cause(), "fw": configuration.FIRMWARE_VERSION})
        self.on_trial = False  # main.py runs this version on trial
        try:
            os.stat(data + "slots.json")
        except OSError:
            return  # never updated: the slots' loader state is not needed
        import slots  # noqa: PLC0415 - the loader's module (main.py has it loaded)

        state = slots.load(data)
        self.on_trial = state["trial"] is not None
        if state["report"]:  # what the loader queued: a trial that failed and its rollback
            for name, fields in state["report"]:
                self.event(name, fields)
            state["report"] = []
            slots.save(data, state)

    # --- persistence of what the server configured ---------------------------------------

    def _load_applied(self):
        try:
            with open(self._applied_path) as handle:
                applied = json.load(handle)
            configuration.merge_applied(self.config, applied)
        except (OSError, ValueError, TypeError, configuration.ConfigError):
            pass  # a missing or damaged file: the flashed config stands

    def _restore_before_sleep(self, now_ticks):
        try:
            with open(self._state_path) as handle:
                saved = json.load(handle)
            slept_ms = max(0, self.board.epoch_ms() - saved["at_ms"])
            self.cabinet.restore(saved, slept_ms, now_ticks)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no state kept: the levels read now stand

    def _attended(self):
        state = self.cabinet
        return state.door_open or not state.aed_present or state.maintenance

    def _on_config(self, topic, payload):
        if topic.startswith(self.fw_topics):
            if self.updater is not None:
                self.updater.on_chunk(topic, payload)
            return
        if topic != self.config_topic:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            self.log("config: not JSON, ignored")
            return
        if not isinstance(message, dict):
            self.log("config: not a JSON object, ignored")
            return
        if message.get("v") == 1 and message.get("id") == self.config["id"] and "fw" in message:
            self._offer(message)
        if self.safe:
            return  # safe mode takes updates only
        revision = configuration.apply_server_config(self.config, message)
        if revision is None:
            return
        self.heater = cabinet.Heater(self.config["heat_on_dc"], self.config["heat_off_dc"])
        self.schedule = cabinet.Schedule(self.config["telemetry_s"] * 1000, self.board.ticks_ms())
        keys = ("config_rev", "telemetry_s", "pad_exp", "batt_exp", "heat_on_dc", "heat_off_dc")
        write_atomic(self._applied_path, json.dumps({key: self.config[key] for key in keys}))
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
        kind = BOOT if name == "boot" else SELF_TEST if name == "self_test" else EVENT
        self.outbox.put(seq, kind, topic, payload)
        self.log("event: " + name)
        self.wake.set()

    def read_temperature(self):
        """Every reading drives the heater; a sensor that stops answering is a fault, and one
        that answers again is a passed self-test, which clears the fault on the server."""
        temp_dc = self.board.temp_dc()
        self.last_temp_dc = temp_dc
        self.board.set_heater(self.heater.update(temp_dc))
        if (temp_dc is None) != self.temp_fault:
            self.temp_fault = temp_dc is None
            if self.temp_fault:
                self.event("fault", {"code": "temp_sensor"})
            else:
                self.event("self_test", {"ok": True})

    def self_test(self):
        self.event("self_test", {"ok": not self.temp_fault})

    def readings(self, now_ticks):
        heater_on = self.heater.on
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
            "temp_dc": self.last_temp_dc,  # None: left out
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
        """Debounce the latched edges, then the levels that have now held long enough."""
        for name, level, ticks in self.board.edges():
            self._changed(name, self.debounce[name].edge(level, ticks))
        for name in INPUTS:
            self._changed(name, self.debounce[name].settle(now_ticks))

    def _changed(self, name, accepted):
        if accepted is None:
            return
        level, at = accepted
        state = self.cabinet
        if name == "door":
            events = state.door(level, at)
        elif name == "aed":
            events = state.aed(level, at)
        elif name == "maint":
            events = state.maintenance_key(level, at)
        elif name == "mains":
            events = state.mains_power(level)
        else:
            events = [("tamper", {})] if level else []
        for event_name, extra in events:
            self.event(event_name, extra)

    async def input_loop(self):
        config = self.config
        wdt_link_ms = config["wdt_link_s"] * 1000
        stable_ms = config["stable_after_s"] * 1000
        while True:
            now = self.board.ticks_ms()
            self.poll_inputs(now)
            if self.temp_schedule.due(now):
                self.read_temperature()
            if self.schedule.due(now):
                self.telemetry(now)
            if self.self_test_schedule.due(now) and self.config["power"] == "mains":
                self.self_test()
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
            if self.on_trial:
                import trial  # noqa: PLC0415 - a version on trial only

                trial.check(self, now)
            await self.board.wait_input(config["poll_ms"])

    def _offer(self, message):
        """A release offered in the config: the updater is loaded (and started) only now, so
        a cabinet that is not updating keeps its heap."""
        if self.updater is None:
            import ota  # noqa: PLC0415

            self.updater = ota.Updater(
                self.config,
                self.link,
                configuration.FIRMWARE_VERSION,
                self.event,
                self._attended,
                self.board.reset,
                self.log,
            )
            asyncio.create_task(self._guard(self.updater.run(), False))
        self.updater.offer(message)

    async def link_loop(self):
        brokers, link = self.brokers, self.link
        first = True
        while not self.going_to_sleep:
            if not await self.board.network_up():
                brokers.network_lost()
                await asyncio.sleep(brokers.first_ms / 1000)
                continue
            if self.ntp_schedule.due(self.board.ticks_ms()):
                await self.board.sync_clock()  # not on every reconnect
            # the birth takes the seq right after its will's: that is how the collector tells
            # this connection's will from a stale one of an earlier connection (docs/protocol.md)
            will_topic, will_payload = self.status("offline", {})
            birth = self.status("online", {"fw": configuration.FIRMWARE_VERSION})
            link.host, link.port, link.tls = brokers.current()  # TLS: an SSLContext or None
            if not await link.connect(will_topic, will_payload):
                # the next broker at once; after a whole round, a jittered, capped backoff
                await asyncio.sleep(brokers.failed() / 1000)
                continue
            brokers.connected()
            if not first:
                self.reconnects += 1
            first = False
            self.log("link: connected to %s:%d" % (link.host, link.port))
            # the retained birth on every connection: a node that died sent no will, and a
            # node that took over must hold this connection's `online`
            topic, payload = birth
            if await link.publish(topic, payload, qos=1, retain=True):
                if self.on_trial:
                    import trial  # noqa: PLC0415

                    trial.confirm(self)
                await link.subscribe(self.config_topic)
                await self.drain()
            # the link is down (drain() returned): the next broker, at once unless this one
            # failed early; a lost Wi-Fi is no broker's fault (the loop's start sees to it)
            wait_ms = brokers.lost()
            if await self.board.network_up():
                await asyncio.sleep(wait_ms / 1000)

    async def drain(self):
        """Send the outbox in order while connected; a message leaves it only on PUBACK."""
        while self.link.connected:
            item = self.outbox.peek()
            if item is None:
                if self.ntp_schedule.due(self.board.ticks_ms()):
                    await self.board.sync_clock()  # a cabinet connected for weeks re-syncs too
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
        """Both loops, and on battery the way to sleep. A loop that fails ends run() with its
        error (main.py then resets the board): no loop dies alone and unnoticed."""
        self._stopped = asyncio.Event()
        self._fatal = None
        tasks = [asyncio.create_task(self._guard(self.link_loop(), False))]
        if self.safe:
            import trial  # noqa: PLC0415

            tasks.append(asyncio.create_task(self._guard(trial.safe_loop(self), False)))
        else:
            await self.board.sensors_ready()
            self.read_temperature()  # the first telemetry carries this reading (or none)
            tasks.append(asyncio.create_task(self._guard(self.input_loop(), False)))
        if self.config["power"] == "battery" and not self.safe:
            sleeper = self.sleep_when_sent(self.board.ticks_ms())
            tasks.append(asyncio.create_task(self._guard(sleeper, True)))
        try:
            await self._stopped.wait()
        finally:  # stopped, failed or cancelled: no loop outlives run()
            for task in tasks:
                task.cancel()
            await self.link.close()
        if self._fatal is not None:
            raise self._fatal

    async def _guard(self, loop, ends_run):
        """Run one loop; its failure ends run(), and so does its end when `ends_run`."""
        try:
            await loop
        except Exception as error:  # noqa: BLE001 - handed on to run(), which raises it
            self._fatal = error
            ends_run = True
        if ends_run:
            self._stopped.set()

    async def sleep_when_sent(self, woke_ticks):
        """Battery profile: once the outbox is sent (or awake_s passed), and while neither the
        door is open nor the AED out (up to awake_open_s), say `sleeping` with the next wake
        time, disconnect cleanly and deep sleep until the heartbeat or the door."""
        awake_ms = self.config["awake_s"] * 1000
        open_ms = self.config["awake_open_s"] * 1000
        while True:
            awake = cabinet.ticks_diff(self.board.ticks_ms(), woke_ticks)
            state = self.cabinet
            attended = state.door_open or not state.aed_present
            updating = self.updater is not None and self.updater.busy
            if (attended or updating) and awake < open_ms:
                pass  # someone is at the cabinet, or an update downloads: stay awake
            elif awake >= awake_ms or (self.link.connected and len(self.outbox) == 0):
                break
            await asyncio.sleep(0.1)
        self.going_to_sleep = True  # no reconnect now: its will would say `offline`
        now_ms = self.board.epoch_ms()
        plan = cabinet.wake_plan(self.cabinet.door_open, now_ms, self.config["heartbeat_s"] * 1000)
        if self.link.connected:
            topic, payload = self.status("sleeping", {"wake": plan["wake_ms"]})
            await self.link.publish(topic, payload, qos=1, retain=True)
        await self.link.close(clean=True)
        await asyncio.sleep_ms(100)  # let DISCONNECT leave before the radio goes off
        state = self.cabinet.ages(self.board.ticks_ms())
        state["at_ms"] = self.board.epoch_ms()
        write_atomic(self._state_path, json.dumps(state))
        self.board.mark_stable()  # a planned sleep is no crash
        self.board.deep_sleep(plan["wake_ms"] - now_ms, plan["wake_on_door_level"])
