"""The contract between engine and console: Redis key names, documents, commands and the rules
both sides apply. Light: stdlib, redis and PyYAML only.
"""
