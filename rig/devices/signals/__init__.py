"""Pure computation on DAQ lines, no driver: addresses and sweep timing, TTL and Pockels waveforms, amplifier
scaling, scanner and Pockels calibrations, telegraph decoding, PMT reconstruction (used by rig.devices, the NI
backend and the simulated board alike)."""
