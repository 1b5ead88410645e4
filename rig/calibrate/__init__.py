"""Calibration procedures (`rig calibrate`): measure the galvos, Pockels cell, LEDs and telegraphs on the rig
and write the measured values into a copy of the profile, with the date and method as comments."""
