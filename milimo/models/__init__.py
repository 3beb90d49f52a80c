"""The model layer: one module per model family, the devices they run on, and the arbiter that owns
the accelerator. Nothing here knows of gRPC or SQL; torch and the model libraries are imported only
here (and only inside worker processes)."""
