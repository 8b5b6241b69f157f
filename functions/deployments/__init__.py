"""The deployments Lambda: start a deployment (the deploy workflow) and show deployments."""
