"""Code that runs in AWS Lambda, each function in a module of its own that Pulumi packages."""
