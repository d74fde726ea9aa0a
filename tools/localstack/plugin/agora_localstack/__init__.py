"""LocalStack extensions that let Agora's CDK stacks run on a host without Docker."""
