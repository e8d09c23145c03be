# Entry point on the ESP32 and under the unix port: load the config, pick the board, run.
# A bad config prints why and waits for a reflash instead of boot-looping.

import asyncio
import sys

import config as configuration
from app import App


def _board(config):
    if sys.platform == "esp32":
        import board_esp32
        import cabinet
        import machine

        memory = machine.RTC().memory()  # boot.py counted this boot
        if memory and memory[0] > cabinet.SAFE_BOOT_LIMIT:
            return None  # safe mode: no app, no watchdog, the REPL stays free
        return board_esp32.Board(config)
    import board_sim

    return board_sim.Board(hold_ms=config["debounce_ms"])


def main(path="config.json"):
    try:
        config = configuration.load(path)
    except configuration.ConfigError as error:
        print("CONFIG ERROR:", error)
        print("fix config.json and reflash: aedfleet firmware flash")
        return
    board = _board(config)
    if board is None:
        print("SAFE MODE: repeated crashes after boot; reflash with aedfleet firmware flash")
        return
    asyncio.run(App(config, board).run())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "config.json")
