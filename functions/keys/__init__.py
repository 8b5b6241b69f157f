"""The keys Lambda: create (the secret is shown once), list and revoke API keys."""
