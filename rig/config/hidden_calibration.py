"""Schema of the simulated rig's hidden true calibration and calibration slide (`simulation.hidden_calibration`).

Pure data, read by simulated_devices/hidden_calibration.py. The default is the identity: the simulated
devices do exactly what the profile's calibration says, so existing profiles behave as before.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from rig.config.base import StrictModel


class HiddenCalibrationSpec(StrictModel):
    """How the simulated devices' true calibration differs from the profile's, and what sits under the objective.

    Each ratio is true / profile (galvo um per volt per axis, Pockels half-wave voltage over the table's top
    volts, LED power, telegraph volts). A ratio left out is drawn from `seed` (a magnitude between
    `min_error_fraction` and `max_error_fraction`, random sign) when a seed is given, else it is 1.
    `galvo_um_per_V` and `pockels_v_pi_V` instead fix the hardware absolutely, whatever the profile says.
    """

    seed: int | None = Field(default=None, ge=0, description="draw the ratios not given from this seed")
    min_error_fraction: float = Field(default=0.03, ge=0.0, le=0.5)
    max_error_fraction: float = Field(default=0.2, ge=0.0, le=0.5)
    galvo_x_ratio: float | None = Field(default=None, ge=0.5, le=2.0)
    galvo_y_ratio: float | None = Field(default=None, ge=0.5, le=2.0)
    pockels_v_pi_ratio: float | None = Field(default=None, ge=1.0, le=2.0,
                                             description="true V_pi / the calibration's top volts (>= 1: monotonic)")
    led_power_ratio: float | None = Field(default=None, ge=0.5, le=2.0)
    telegraph_ratio: float | None = Field(default=None, ge=0.5, le=2.0)
    galvo_um_per_V: tuple[float, float] | None = Field(
        default=None, description="absolute true um per volt (x, y): the same hardware whatever the profile says "
        "(replaces the galvo ratios; a calibrated copy keeping it simulates the same rig)")
    pockels_v_pi_V: float | None = Field(default=None, gt=0, le=20, description="absolute true half-wave voltage, "
                                         "at least the table's volts span (replaces pockels_v_pi_ratio)")
    laser_max_power_mW: float = Field(default=40.0, gt=0, le=10_000, description="at the sample, full transmission")
    led_power_mW: float = Field(default=5.0, gt=0, le=10_000, description="an LED's true power when the profile "
                                "gives no power_mW")
    power_meter_noise_fraction: float = Field(default=0.002, ge=0.0, le=0.1)
    telegraph_noise_V: float = Field(default=0.005, ge=0.0, le=0.5)
    sample: Literal["cell", "grid_slide", "uniform_slide"] = Field(
        default="cell", description="the cell, a fluorescent calibration grid, or a uniform dye slide")
    grid_pitch_um: float = Field(default=10.0, gt=1.0, le=200.0, description="true pitch of the grid's lines")
    grid_line_width_um: float = Field(default=1.0, gt=0.0, le=10.0)
    swapped_channels: list[tuple[str, str]] = Field(
        default_factory=list, max_length=16, description="pairs of DAQ addresses whose cables are really crossed "
        "(each carries what the profile says the other does): a wiring mistake for `rig check-wiring` to find")
