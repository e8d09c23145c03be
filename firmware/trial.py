# What only a version on trial and the safe mode need, loaded only then (slots.py has why):
# the trial's deadline, its confirmation once the broker heard `online`, and safe mode's loop.

import asyncio

import cabinet
import config as configuration
import slots


def check(app, now_ticks):
    """A version on trial that has not said `online` by its deadline is rolled back."""
    if cabinet.ticks_diff(now_ticks, app.boot_ticks) >= app.config["ota_trial_s"] * 1000:
        app.log("ota: no broker within the trial; rolling back")
        state = slots.load(app.data)
        slots.end_trial(state, slots.TRIAL_TIMEOUT)
        slots.save(app.data, state)
        app.board.reset()


def confirm(app):
    """The version on trial reached the broker and said `online`: it is the known-good one."""
    state = slots.load(app.data)
    if slots.confirm(state):
        slots.save(app.data, state)
        app.event("ota_applied", {"fw": configuration.FIRMWARE_VERSION})
        app.log("ota: %s passed its trial" % configuration.FIRMWARE_VERSION)
    app.on_trial = False


async def safe_loop(app):
    """Safe mode: no switches or sensors; the watchdog is fed while the broker answers, so the
    cabinet stays reachable for an update that fixes what crashed it."""
    wdt_link_ms = app.config["wdt_link_s"] * 1000
    while True:
        now = app.board.ticks_ms()
        if app.link.connected:
            app.last_link_ok_ticks = app.link.last_rx_ticks
        if cabinet.ticks_diff(now, app.last_link_ok_ticks) < wdt_link_ms:
            app.board.feed_watchdog()
        if app.on_trial:
            check(app, now)
        await asyncio.sleep(1)
