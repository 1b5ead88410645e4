"""The profile's nominal Pockels curve: the table it gives, or the linear cell assumed when it gives none."""

from __future__ import annotations

from rig.config.device_specs import PockelsLaserSpec

# A laser entry without a calibration table: the cell is assumed linear from 0 V (dark) to 1 V (full power), the
# simulated board's nominal cell (simulated_devices/driver.py NOMINAL_POCKELS on the devices branch).
NOMINAL_POCKELS_TOP_V = 1.0


def nominal_pockels_table(spec: PockelsLaserSpec) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(volts, power fractions) the program converts with: the profile's table, else linear 0..1 V."""
    if spec.calibration is not None:
        return tuple(v for v, _ in spec.calibration.points), tuple(p for _, p in spec.calibration.points)
    return (0.0, NOMINAL_POCKELS_TOP_V), (0.0, 1.0)
