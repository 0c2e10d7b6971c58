"""The console's data layer: reading Redis, the store of what the console knows, typed
messages, sending commands. No Textual widgets.
"""
