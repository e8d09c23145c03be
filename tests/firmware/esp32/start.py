# One start of the stand-in ESP32: boot.py, then main.py, on the world's clock.
import esp32world

esp32world.run_boot_and_main()
