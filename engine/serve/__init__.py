"""`aiwf-engine run`: registers and serves deployments, keeps the registry, ends maintenance
windows.
"""
