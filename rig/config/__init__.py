"""Hardware profiles and protocol files: schemas, loading and validation."""
