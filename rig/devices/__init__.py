"""One device class per role, over the DeviceBus of either DAQ clock (NI or simulated) and its driver seam."""
