"""Model monitoring inside the model containers (DESIGN §8).

Modules
    baseline    baseline profiles of training data (numpy + pandas; the SDK uses it too)
    drift       the drift statistics: pure numpy/scipy, small frozen results
"""
