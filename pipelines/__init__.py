"""The delivery pipeline as commands: check, build, preview, deploy, verify, dora, run.

Each step is one command that runs the same on a laptop and in CI (``python -m pipelines <step>``);
the GitHub workflows only call them. Artifacts go under ``build/``.
"""
