"""gRPC servicers: each converts proto to domain calls and back, nothing more."""
