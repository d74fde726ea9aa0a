"""CloudWatch metrics and alarms as AWS has them: EMF logs and API Gateway requests become metrics,
and metric alarms (single metric or metric math) are evaluated."""
