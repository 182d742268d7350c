"""Evidence collectors that read the Kubernetes API (kubernetes-asyncio)."""
