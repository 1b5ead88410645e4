"""NI-DAQmx backend: pure waveform/scaling/timing modules and a thin, lazily imported driver layer."""
