"""The retraining Lambda: dataset upload URLs and retrain records."""
