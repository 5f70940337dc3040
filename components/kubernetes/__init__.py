"""What every Kubernetes cluster gets the same way, whichever cloud runs it."""
