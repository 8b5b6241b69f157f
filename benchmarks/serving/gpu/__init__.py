"""GPU serving benchmark: a TorchScript MLP on CUDA versus CPU, batched and unbatched."""
