"""Generated gRPC stubs of the milimo.v1 contract: `make proto`."""
