"""The log feature: the stream index, its reader, text scans, the log view and its screen."""
