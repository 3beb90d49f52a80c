"""The render daemon: gRPC wiring, the job queue and its workers, the store and the media store."""
