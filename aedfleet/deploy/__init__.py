"""A production deployment on one Debian server: the folder `aedfleet deploy` writes."""
