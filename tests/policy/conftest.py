from infra import offline

# The required-tags policy inspects the provider's resource classes.
offline.load_provider_modules()
