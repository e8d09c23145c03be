from aedfleet.cli import main

main()
