"""The scale-out proof renders the hosts' first-boot script with infra's own code, which imports the
AWS provider: load its modules quietly first, as the infra tests do (it warns on import about
resources it deprecates, which warnings-as-errors would turn into a collection error)."""

from infra import offline

offline.load_provider_modules()
