"""The lab: EC2-like Debian hosts on the local Docker engine, reached by Ansible over real SSH.

``python -m lab up`` builds the images, starts the registry and the hosts and writes the lab
inventory; ``python -m lab down`` removes everything ``up`` created and nothing else.
"""
