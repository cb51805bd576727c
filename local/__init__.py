"""Local stand-ins of the cloud: the Alibaba Cloud API emulator and the tools that drive the functions on a laptop."""
