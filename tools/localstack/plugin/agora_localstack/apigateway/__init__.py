"""API Gateway (REST API v1) behaviour that community LocalStack leaves out."""
