# The loader's memory of the application slots, and the safe-boot counter. With boot.py and
# main.py this file is the loader: flashed over USB only, never replaced by an update, so a
# release cannot break the way back to a version that worked.
#
# The application lives in one of two slot folders, `slot_a` and `slot_b`, beside config.json
# (or in the root for a board flashed over USB and never updated: the factory slot ""). The
# state in `slots.json` (replaced whole, atomically) names the known-good slot and, while a new
# version is on trial, the trial slot. A trial gets TRIAL_BOOTS boots to reach the broker and
# say `online`; a boot after that, whatever ended the trial (a crash, the watchdog, the
# trial's deadline, a power cut), runs the known-good slot again and queues `ota_failed` and
# `ota_rolled_back` for the application to send.

import json
import os

STATE_FILE = "slots.json"
SLOTS = ("a", "b")
TRIAL_BOOTS = 1
SAFE_BOOT_LIMIT = 3
# reasons a trial ended, as ota_failed reports them
TRIAL_RESET = "trial_reset"  # nothing recorded: a watchdog reset or a power cut
TRIAL_CRASH = "trial_crash"  # the new version raised (main.py recorded it)
TRIAL_TIMEOUT = "trial_timeout"  # no `online` within ota_trial_s


def safe_boot(previous_count, cold_start):
    """The crash counter of the last boots (kept in RTC memory): a power-on starts from zero,
    every boot adds one, a run of `stable_after_s` clears it. Above SAFE_BOOT_LIMIT boots in a
    row that never became stable, main.py runs safe mode: Wi-Fi, the broker link and the
    update path only."""
    return 1 if cold_start else min(previous_count + 1, 255)


def fresh():
    return {"good": "", "good_fw": "", "trial": None, "trial_fw": "", "tried": 0, "why": None,
            "report": []}  # fmt: skip


def folder(data, slot):
    """Where a slot's files are: data_dir/slot_a/, or data_dir itself for the factory slot."""
    return data + "slot_" + slot + "/" if slot else data


def spare(state):
    """The slot a new version is written to: never the known-good one."""
    return "b" if state["good"] == "a" else "a"


def load(data):
    try:
        with open(data + STATE_FILE) as handle:
            state = json.load(handle)
        if isinstance(state, dict):
            merged = fresh()
            merged.update(state)
            return merged
    except (OSError, ValueError):
        pass
    return fresh()  # never written or damaged: the factory slot


def save(data, state):
    path = data + STATE_FILE
    with open(path + ".tmp", "w") as handle:
        handle.write(json.dumps(state))
    os.rename(path + ".tmp", path)


def choose(state):
    """At every boot: the slot to run and whether this boot rolled a trial back. Changes
    `state`, which the caller saves before running anything."""
    trial = state["trial"]
    if trial is None:
        return state["good"], False
    if state["tried"] < TRIAL_BOOTS:
        state["tried"] += 1
        return trial, False
    failed = state["trial_fw"]
    state["report"] = state["report"][-4:] + [
        ["ota_failed", {"fw": failed, "reason": state["why"] or TRIAL_RESET}],
        ["ota_rolled_back", {"fw": state["good_fw"], "from": failed}],
    ]
    state["trial"] = None
    state["why"] = None
    state["failed_fw"] = failed  # not offered to this cabinet again
    return state["good"], True


def begin_trial(state, slot, version, running_version):
    """The new version in `slot` is complete and verified: the next boot runs it on trial."""
    state["good_fw"] = state["good_fw"] or running_version
    state["trial"] = slot
    state["trial_fw"] = version
    state["tried"] = 0
    state["why"] = None


def end_trial(state, why):
    """The running trial failed (`why`): the next boot rolls it back."""
    if state["trial"] is not None:
        state["why"] = why
        state["tried"] = TRIAL_BOOTS


def confirm(state):
    """The trial reached the broker: it becomes the known-good slot. True if it was a trial."""
    if state["trial"] is None:
        return False
    state["good"] = state["trial"]
    state["good_fw"] = state["trial_fw"]
    state["trial"] = None
    state["why"] = None
    return True
