"""Python client for suppliers and channels (sync and async). Arrives with the catalogue issue."""
