"""Model monitoring inside the model containers (DESIGN §8).

Modules
    baseline    baseline profiles of training data (numpy + pandas; the SDK uses it too)
    drift       the drift statistics: pure numpy/scipy, small frozen results
    quality     the live policy metric from labels joined to captured predictions
    captures    SageMaker data-capture files → the window's columns
    job         the drift job (`python -m model_containers.monitoring`, a Processing job)
    report      report.json and the summary the workflow records; html: report.html
"""
