# Over-the-air update of the application, pulled over the cabinet's own TLS link to the broker.
#
# The retained `config` names a release: {"fw": {"ver", "size", "sha256", "sig"}}, where size
# and sha256 are the release's manifest's and sig is the Ed25519 signature of that manifest,
# made offline with the release key; the cabinet holds only the public key (`ota_key`). The
# manifest and every file are retained messages of CHUNK bytes on
# <prefix>/v1/fw/<version>/<file>/<index>: the cabinet subscribes to one chunk at a time,
# appends it to `<file>.part` in the spare slot and hashes as it goes, so no file is ever
# whole in RAM and a download cut by a power loss resumes at the last whole chunk. Every
# file is checked against the manifest's SHA-256; only then does slots.json name the slot
# as the trial, and the next boot runs it (see slots.py). Why the broker and not HTTPS:
# docs/ota.md.

import asyncio
import binascii
import hashlib
import os

import slots

CHUNK = 1024  # bytes per retained chunk; the broker's max_packet_size leaves room for this
MAX_MANIFEST = 4096
MAX_FILES = 32
MAX_FILE = 256 * 1024
MAX_TOTAL = 512 * 1024
CHUNK_WAIT_S = 10
CHUNK_TRIES = 3
MANIFEST = "manifest"
MAGIC = "aedfleet firmware 1"
LOADER = ("boot.py", "main.py", "slots.py")  # flashed over USB only, never in a release


class RefusedError(Exception):
    """An update that will not be installed; `reason` is what ota_failed reports."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _is_version(text):
    if not isinstance(text, str) or not 1 <= len(text) <= 24:
        return False
    return all(
        ch in "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_" for ch in text
    )


def _is_sha256(text):
    return (
        isinstance(text, str) and len(text) == 64 and all(ch in "0123456789abcdef" for ch in text)
    )


def _is_file_name(name):
    stem, dot, suffix = name.rpartition(".")
    if dot != "." or suffix not in ("py", "mpy") or not 1 <= len(stem) <= 24:
        return False
    return name not in LOADER and all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_" for ch in stem)


def parse_offer(message):
    """The release a `config` message offers, as (version, size, sha256, signature bytes), or
    None when it offers none; RefusedError("manifest") when the offer is malformed."""
    offer = message.get("fw")
    if offer is None:
        return None
    if not isinstance(offer, dict):
        raise RefusedError("manifest")
    version, size, digest, sig = (
        offer.get("ver"),
        offer.get("size"),
        offer.get("sha256"),
        offer.get("sig"),
    )
    if not _is_version(version) or not _is_sha256(digest) or not isinstance(sig, str):
        raise RefusedError("manifest")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_MANIFEST:
        raise RefusedError("manifest")
    try:
        signature = binascii.a2b_base64(sig)
    except ValueError:
        raise RefusedError("signature")
    if len(signature) != 64:
        raise RefusedError("signature")
    return version, size, digest, signature


def parse_manifest(text, version):
    """The files of a signed manifest as [(name, size, sha256)]; RefusedError("manifest") when it
    is not one this firmware can install."""
    lines = text.split("\n")
    if len(lines) < 3 or lines[0] != MAGIC or lines[1] != "version " + version or lines[-1]:
        raise RefusedError("manifest")
    files = []  # type: list
    total = 0
    for line in lines[2:-1]:
        words = line.split(" ")
        if len(words) != 4 or words[0] != "file" or not _is_file_name(words[1]):
            raise RefusedError("manifest")
        if not words[2].isdigit() or not _is_sha256(words[3]):
            raise RefusedError("manifest")
        size = int(words[2])
        total += size
        if not 1 <= size <= MAX_FILE or any(name == words[1] for name, _s, _h in files):
            raise RefusedError("manifest")
        files.append((words[1], size, words[3]))
    if not files or len(files) > MAX_FILES or total > MAX_TOTAL:
        raise RefusedError("manifest")
    if not any(name.startswith("app.") for name, _s, _h in files):
        raise RefusedError("manifest")
    return files


def chunk_topic(prefix, version, name, index):
    return "%s/v1/fw/%s/%s/%d" % (prefix, version, name, index)


def _size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return None


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _hash_file(path, hasher):
    """Feed a file to `hasher` a chunk at a time."""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return hasher
            hasher.update(block)


def _verify(key, message, signature):
    """Ed25519, with its module loaded only for the check: its heap is back for the files."""
    import sys  # noqa: PLC0415

    import ed25519  # noqa: PLC0415

    try:
        return ed25519.verify(key, message, signature)
    finally:
        del ed25519
        sys.modules.pop("ed25519", None)


def _hex(digest):
    return binascii.hexlify(digest).decode()


class Updater:
    """Takes offers from the retained config, downloads and verifies a release into the spare
    slot and restarts into it once nobody is at the cabinet. `event(name, fields)` queues a
    protocol event; `attended()` is True while the door is open, the AED out or the key on."""

    def __init__(self, config, link, running_version, event, attended, reset, log):
        self.prefix = config["prefix"]
        self.data = config["data_dir"].rstrip("/") + "/"
        key = config["ota_key"]
        self.key = binascii.a2b_base64(key) if key else None
        self.link = link
        self.running = running_version
        self.event = event
        self.attended = attended
        self.reset = reset
        self.log = log
        self.refused = []  # (version, signature) already refused: never tried again
        self.busy = False
        self._offer = None
        self._offered = asyncio.Event()
        self._want = None
        self._got = None
        self._arrived = asyncio.Event()

    # --- what arrives on the link ---------------------------------------------------------

    def offer(self, message):
        """A parsed `config` message: start an update if it offers a new, untried release."""
        try:
            offer = parse_offer(message)
        except RefusedError as error:
            self.log("ota: offer refused: " + error.reason)
            return
        if offer is None or self.busy or offer[0] == self.running:
            return
        if (offer[0], offer[3]) in self.refused:
            return
        if offer[0] == slots.load(self.data).get("failed_fw"):
            return  # it failed its trial here: only a new version is tried
        self._offer = offer
        self._offered.set()

    def on_chunk(self, topic, payload):
        """A firmware chunk arrived: kept if it is the one being waited for."""
        if topic == self._want:
            self._got = payload
            self._arrived.set()

    # --- the update -----------------------------------------------------------------------

    async def run(self):
        while True:
            await self._offered.wait()
            self._offered.clear()
            if self._offer is None:
                continue
            version, size, digest, signature = self._offer
            self.busy = True
            try:
                if self.key is None:
                    raise RefusedError("no_key")
                slot = await self._install(version, size, digest, signature)
            except OSError as error:  # flash full or failing: the running version stays
                self.log("ota: %s not written: %r" % (version, error))
                self.event("ota_failed", {"fw": version, "reason": "flash"})
                self.busy = False
                continue
            except RefusedError as error:
                self.log("ota: %s refused: %s" % (version, error.reason))
                if error.reason != "download":  # a broker that lost chunks may get them back
                    self.refused.append((version, signature))
                self.event("ota_failed", {"fw": version, "reason": error.reason})
                self.busy = False
                continue
            state = slots.load(self.data)
            slots.begin_trial(state, slot, version, self.running)
            slots.save(self.data, state)
            while self.attended():  # never restart a cabinet that is opened or in use
                await asyncio.sleep(1)
            self.log("ota: %s ready in slot %s, restarting into it" % (version, slot))
            await asyncio.sleep(1)  # the outbox's sender gets a moment for ota_started
            self.reset()

    async def _install(self, version, size, digest, signature):
        state = slots.load(self.data)
        slot = slots.spare(state)
        where = slots.folder(self.data, slot)
        try:
            os.mkdir(where.rstrip("/"))
        except OSError:
            pass  # already there: what is in it is checked file by file
        self.event("ota_started", {"fw": version})
        await self._file(where, version, MANIFEST, size, digest)
        with open(where + MANIFEST) as handle:
            text = handle.read()
        if not _verify(self.key, text.encode(), signature):
            _remove(where + MANIFEST)
            raise RefusedError("signature")
        files = parse_manifest(text, version)
        del text
        for name, file_size, file_digest in files:
            await self._file(where, version, name, file_size, file_digest)
        keep = [name for name, _s, _h in files] + [MANIFEST]
        for name in os.listdir(where.rstrip("/")):
            if name not in keep:  # an old module must not shadow or outlive the release
                _remove(where + name)
        return slot

    async def _file(self, where, version, name, size, digest):
        """Download one file into `where` (resuming a `.part`), or keep an identical one."""
        final = where + name
        if _size(final) == size and _hex(_hash_file(final, hashlib.sha256()).digest()) == digest:
            return  # unchanged since the version in this slot, or finished before a restart
        _remove(final)
        part = final + ".part"
        offset = _size(part) or 0
        if offset % CHUNK or offset > size:  # a chunk cut short by a power loss
            _remove(part)
            offset = 0
        hasher = hashlib.sha256()
        if offset:
            self.log("ota: %s resumes at %d" % (name, offset))
            _hash_file(part, hasher)
        while offset < size:
            payload = await self._chunk(chunk_topic(self.prefix, version, name, offset // CHUNK))
            if len(payload) != min(CHUNK, size - offset):
                _remove(part)
                raise RefusedError("size")
            with open(part, "ab") as handle:
                handle.write(payload)
            hasher.update(payload)
            offset += len(payload)
        if _hex(hasher.digest()) != digest:
            _remove(part)
            raise RefusedError("hash")
        os.rename(part, final)

    async def _chunk(self, topic):
        """One retained chunk; waits out a lost link, gives up after CHUNK_TRIES silences."""
        tries = 0
        while True:
            while not self.link.connected:
                await asyncio.sleep(1)
            self._want, self._got = topic, None
            self._arrived.clear()
            if await self.link.subscribe(topic):
                try:
                    await asyncio.wait_for(self._arrived.wait(), CHUNK_WAIT_S)
                except asyncio.TimeoutError:
                    pass
                await self.link.unsubscribe(topic)
            self._want = None
            if self._got is not None:
                return self._got
            if self.link.connected:
                tries += 1
                if tries >= CHUNK_TRIES:
                    raise RefusedError("download")
