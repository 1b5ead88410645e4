"""Simulated backends of every hal interface, sharing one virtual specimen and one clock."""
