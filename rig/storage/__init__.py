"""HDF5 run files: the writer (a stream consumer) and the reader."""
