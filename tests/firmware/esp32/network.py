# Stand-in for the ESP32 port's `network` (never flashed), after docs.micropython.org
# library/network.WLAN.html and the ESP32 port's behaviour reported upstream:
# - connect() while an attempt is still running raises OSError('Wifi Internal Error') (the
#   IDF logs "sta is connecting, return error": thonny/thonny#2713,
#   peterhinch/micropython-mqtt#132 on recovering from an AP outage);
# - with the access point gone, status() stays STAT_CONNECTING and never reaches
#   STAT_NO_AP_FOUND (micropython/micropython#5326): the attempt runs until disconnect();
# - an attempt joins ASSOCIATE_MS after it started once the access point is there; a joined
#   station loses the connection when the access point goes away (here: at once).
# The access point is the script's ["ap", up] at a world time (up by default).

import esp32world

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_BEACON_TIMEOUT = 200
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_ASSOC_FAIL = 203
STAT_HANDSHAKE_TIMEOUT = 204
ASSOCIATE_MS = 1500


def _ap_up():
    return esp32world.state("ap") is not False


class WLAN:
    _stations = {}

    def __new__(cls, interface=STA_IF):
        if interface not in WLAN._stations:
            station = object.__new__(cls)
            station._active = False
            station._started = None  # world ms of the running attempt
            station._joined = False
            WLAN._stations[interface] = station
        return WLAN._stations[interface]

    def __init__(self, interface=STA_IF):
        pass

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not on:
            self._started = None
            self._joined = False
        return None

    def _update(self):
        if self._joined and not _ap_up():
            self._joined = False
            self._started = None
            esp32world.log("wifi", state="lost")
        elif (
            self._started is not None
            and not self._joined
            and _ap_up()
            and esp32world.world_ms() - self._started >= ASSOCIATE_MS
        ):
            self._joined = True
            esp32world.log("wifi", state="joined")

    def connect(self, ssid=None, key=None):
        if not self._active:
            raise OSError("Wifi Not Started")
        self._update()
        if self._started is not None and not self._joined:
            esp32world.log("wifi", state="connect_while_connecting")
            raise OSError("Wifi Internal Error")
        self._started = esp32world.world_ms()
        self._joined = False
        esp32world.log("wifi", state="connect")

    def disconnect(self):
        self._started = None
        self._joined = False

    def isconnected(self):
        self._update()
        return self._joined

    def status(self, param=None):
        self._update()
        if param == "rssi":
            if not self._joined:
                raise OSError("Wifi Not Connected")
            return -61
        if param is not None:
            raise ValueError("unknown status param")
        if self._joined:
            return STAT_GOT_IP
        if self._started is not None:
            return STAT_CONNECTING
        return STAT_IDLE

    def config(self, *args, **kwargs):
        return None

    def ifconfig(self, *args):
        return ("10.0.0.17", "255.255.255.0", "10.0.0.1", "10.0.0.1")
