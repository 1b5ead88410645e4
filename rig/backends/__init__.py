"""Real hardware backends: ni/ (NI-DAQmx through nidaqmx) and micromanager/ (pymmcore-plus)."""
