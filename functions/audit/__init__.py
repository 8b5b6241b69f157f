"""The audit Lambda: list audit events and verify the hash chains."""
