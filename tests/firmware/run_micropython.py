# Runs the firmware core tests under the MicroPython unix port (which has no pytest):
#   MICROPYPATH=firmware:tests/firmware:.frozen micropython tests/firmware/run_micropython.py
# Prints "N passed, M failed" and exits non-zero on any failure.

import sys

MODULES = (
    "test_fw_cabinet",
    "test_fw_report",
    "test_fw_outbox",
    "test_fw_config",
    "test_fw_inputs",
    "test_fw_ota",
    "test_fw_brokers",
)

passed = 0
failed = 0
for module_name in MODULES:
    module = __import__(module_name)
    for name in sorted(dir(module)):
        if not name.startswith("test_"):
            continue
        try:
            getattr(module, name)()
            passed += 1
        except Exception as error:  # report every failure, keep going
            failed += 1
            print("FAIL", module_name, name, repr(error))
            sys.print_exception(error)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
