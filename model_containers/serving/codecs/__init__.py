"""Protocol codecs: bytes in, batches to the data plane, predictions out as bytes."""
