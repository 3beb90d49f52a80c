"""Submit-time rules of each job kind (see milimo/tasks/registry.py); light imports only."""
