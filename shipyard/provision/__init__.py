"""`inv provision`: a fresh Debian 12 or Ubuntu 22.04/24.04 VM to ready-for-deploy, with pyinfra.

`settings` (what the environment asks for) and `render` (every file written on the VM) are
pure; `facts` and `operations` are the few pyinfra pieces pyinfra itself lacks; `steps` is
the deploy, operation by operation; `run` connects, runs it (or only plans it) and reports
what changed.
"""
