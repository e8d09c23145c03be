"""Scripted stand-ins for network peers whose misbehaviour a real server cannot be made to
show on demand (a broker that closes mid-packet, grants QoS 0, or sends QoS 2)."""
