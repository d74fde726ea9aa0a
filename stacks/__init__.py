"""Agora's AWS CDK app: one code path, two targets (AWS and LocalStack)."""
