"""Lambda runtime executor that runs execution environments as host processes."""
